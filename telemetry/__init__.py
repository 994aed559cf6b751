"""Telemetry: the reading model, the schema and migrations, the store and its queries.

Public API for other packages:

- ``telemetry.store``: :class:`ReadingWriter` (``split``, ``check``, ``write``),
  :class:`WriteResult`, :class:`Rejected`, :func:`dedup_key`;
- ``telemetry.deadletters``: :class:`DeadLetter`, :func:`dead_letter`, :func:`dead_letters`;
- ``telemetry.rollups``: :func:`materialize_rollups`;
- ``telemetry.queries``: :func:`latest_states`, :func:`track`,
  :func:`hourly_rollups`, :func:`daily_summary`;
- ``telemetry.db``: :func:`connect`, :func:`connection`, :func:`open_pool`;
- ``telemetry.schema.migrate`` and ``telemetry.policies.apply_policies``.
"""

from __future__ import annotations

from telemetry.batch import dedup_key
from telemetry.deadletters import DeadLetter, dead_letter, dead_letters
from telemetry.errors import DatabaseUnavailable, ReadingRangeError, SchemaError, TelemetryError
from telemetry.model import Reading, check_reading
from telemetry.queries import (
    DailySummary,
    HourlyRollup,
    LatestState,
    Track,
    TrackPoint,
    daily_summary,
    hourly_rollups,
    latest_states,
    track,
)
from telemetry.rollups import materialize_rollups
from telemetry.store import ReadingWriter, Rejected, WriteResult

__all__ = [
    "DailySummary",
    "DatabaseUnavailable",
    "DeadLetter",
    "HourlyRollup",
    "LatestState",
    "Reading",
    "ReadingRangeError",
    "ReadingWriter",
    "Rejected",
    "SchemaError",
    "TelemetryError",
    "Track",
    "TrackPoint",
    "WriteResult",
    "check_reading",
    "daily_summary",
    "dead_letter",
    "dead_letters",
    "dedup_key",
    "hourly_rollups",
    "latest_states",
    "materialize_rollups",
    "track",
]
