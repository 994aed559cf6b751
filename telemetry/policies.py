"""Settings-dependent TimescaleDB policies, applied idempotently after migrations.

Migrations are plain SQL without parameters, so what depends on settings (chunk
interval, compress-after, retention) is applied here, by ``assetwatch db init``:
each policy is compared with the configured value and replaced only if it
differs, so running it twice changes nothing.
"""

from __future__ import annotations

from datetime import timedelta

import psycopg

from assetwatch.settings import Settings
from telemetry.db import Conn
from telemetry.errors import SchemaError
from telemetry.schema import timescaledb_version
from telemetry.sqlfiles import query


def apply_policies(conn: Conn, settings: Settings) -> tuple[str, ...]:
    """Bring policies in line with ``settings``; return the features in use, in words."""
    try:
        with conn.transaction():
            if timescaledb_version(conn) is None:
                return _plain_features(settings)
            return _timescale(conn, settings)
    except psycopg.Error as exc:
        raise SchemaError(f"applying TimescaleDB policies failed: {exc}") from exc


def _plain_features(settings: Settings) -> tuple[str, ...]:
    features = [
        "readings: plain table with a BRIN index on ts",
        "readings_hourly: rollup table kept incrementally by the writer (+ live open hour)",
    ]
    if settings.retention:
        features.append("retention: not applied on plain PostgreSQL (needs TimescaleDB)")
    return tuple(features)


def _current(conn: Conn, proc: str, key: str) -> timedelta | None:
    row = conn.execute(
        query("telemetry", "ts_policy_setting"), {"proc": proc, "key": key}
    ).fetchone()
    return row[0] if row else None


def _interval(conn: Conn, text: str) -> timedelta:
    row = conn.execute(query("telemetry", "as_interval"), {"text": text}).fetchone()
    assert row is not None
    value = row[0]
    if not isinstance(value, timedelta):
        raise SchemaError(f"not an interval: {text!r}")
    return value


def _timescale(conn: Conn, settings: Settings) -> tuple[str, ...]:
    conn.execute(query("telemetry", "ts_set_chunk_interval"), {"interval": settings.chunk_interval})
    want_compress = _interval(conn, settings.compress_after)
    if _current(conn, "policy_compression", "compress_after") != want_compress:
        conn.execute(query("telemetry", "ts_remove_compression_policy"))
        conn.execute(query("telemetry", "ts_add_compression_policy"), {"after": want_compress})
    if settings.retention:
        want_drop = _interval(conn, settings.retention)
        if _current(conn, "policy_retention", "drop_after") != want_drop:
            conn.execute(query("telemetry", "ts_remove_retention_policy"))
            conn.execute(query("telemetry", "ts_add_retention_policy"), {"after": want_drop})
    else:
        conn.execute(query("telemetry", "ts_remove_retention_policy"))
    row = conn.execute(query("telemetry", "ts_features")).fetchone()
    assert row is not None
    chunk = conn.execute(query("telemetry", "ts_chunk_interval")).fetchone()
    features = []
    if row[0]:
        features.append(f"hypertable readings (chunk interval {chunk[0] if chunk else '?'})")
    if row[1]:
        features.append(
            f"compression segmented by device_id, ordered by ts, after {settings.compress_after}"
        )
    if row[2]:
        features.append(
            "continuous aggregate readings_hourly"
            + (" with real-time aggregation" if row[3] else " (materialized only)")
        )
    features.append(
        f"retention after {settings.retention}" if settings.retention else "retention off"
    )
    return tuple(features)
