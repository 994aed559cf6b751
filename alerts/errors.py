"""The exception root of the alerts package."""

from __future__ import annotations


class AlertsError(Exception):
    """Root of every error raised by :mod:`alerts`."""


class AlertNotFound(AlertsError):
    """No alert with the given id."""


class InvalidTransition(AlertsError):
    """A lifecycle change the alert's current status does not allow."""


class StateDecodeError(AlertsError):
    """A checkpointed detector state could not be read back."""


class TruthFileError(AlertsError):
    """A ground-truth file line could not be parsed (the message names the line)."""
