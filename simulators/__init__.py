"""Terminal simulators: vehicle, ship, farm and equipment fleets with scripted incidents.

They are how assetwatch is tested, demonstrated and benchmarked, so they behave
like real fleets: trips on working days and shifts, voyages, grazing herds,
machines with idle spells; GPS jitter and multipath; per-device cadence, clock
skew, lost and duplicated messages, blind-area backfills and satellite batches;
and incidents (relocation, zone exits, displacement, idling, decline, offline,
tamper, spoofing, fabrication, double pledges) with their ground truth.

Public API (see docs/simulators.md)::

    from simulators import SimConfig, Simulation, generate

    sim = Simulation(SimConfig(fleet="vehicle=20,ship=5,farm=5,equipment=10", days=3,
                               seed=7, start="2026-11-01T00:00:00Z", scenario="eval-small",
                               native=False))
    sim.registry()       # dict in the assetwatch-registry/1 format
    sim.truth()          # list of ground-truth dicts (one per incident)
    for msg in sim.messages():   # SimMessage(topic, payload, event_time, send_time, ...)
        ...
    for topic, payload, event_time in generate(fleet="vehicle=5", days=1, seed=1):
        ...

Everything is deterministic for a given seed and start.
"""

from __future__ import annotations

from simulators.engine import SimMessage
from simulators.errors import PublishError, ScenarioError, SimulatorError
from simulators.fixes import Fix
from simulators.fleet import parse_fleet_spec
from simulators.incidents import Incident
from simulators.portfolio import CLASSES, Fleet
from simulators.scenario import MODES, PRESETS, Noise, Scenario, load_scenario
from simulators.simulation import SimConfig, Simulation, generate

__all__ = [
    "CLASSES",
    "MODES",
    "PRESETS",
    "Fix",
    "Fleet",
    "Incident",
    "Noise",
    "PublishError",
    "Scenario",
    "ScenarioError",
    "SimConfig",
    "SimMessage",
    "Simulation",
    "SimulatorError",
    "generate",
    "load_scenario",
    "parse_fleet_spec",
]
