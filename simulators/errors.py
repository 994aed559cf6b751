"""The simulators' one exception root.

Bad input (a malformed ``--fleet`` spec, an unknown preset, a scenario file
that does not parse, a broker that refuses the connection) surfaces as one of
these, naming the problem, instead of a traceback from deep inside.
"""

from __future__ import annotations


class SimulatorError(Exception):
    """Root of every error raised by :mod:`simulators`."""


class ScenarioError(SimulatorError):
    """A fleet spec, preset name or scenario file is invalid."""


class PublishError(SimulatorError):
    """The MQTT broker could not be reached or refused a publish."""
