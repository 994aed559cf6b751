"""Telemetry: the reading model, the schema and migrations, the store and its queries."""

from __future__ import annotations

from telemetry.errors import DatabaseUnavailable, ReadingRangeError, SchemaError, TelemetryError
from telemetry.model import Reading, check_reading

__all__ = [
    "DatabaseUnavailable",
    "Reading",
    "ReadingRangeError",
    "SchemaError",
    "TelemetryError",
    "check_reading",
]
