"""Exception root of the telemetry package; third-party errors are wrapped here."""

from __future__ import annotations


class TelemetryError(Exception):
    """Root of every error raised by :mod:`telemetry`."""


class DatabaseUnavailable(TelemetryError):
    """The database could not be reached or the connection broke mid-operation."""


class SchemaError(TelemetryError):
    """A migration failed or the schema is not what the code expects."""


class ReadingRangeError(TelemetryError, ValueError):
    """A reading carries a value that cannot be stored; ``field`` names it."""

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{field}={value!r}: {reason}")
