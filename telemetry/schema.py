"""Numbered SQL migrations, applied idempotently, with TimescaleDB detection.

Migrations live in ``telemetry/sql/migrations`` as ``NNNN_name.sql``. A file
named ``NNNN_name.timescale.sql`` is applied only when the TimescaleDB extension
is active, ``NNNN_name.plain.sql`` only when it is not; together they give the
same queryable objects on both. Version ranges are owned by packages:
0001-0099 telemetry, 0100-0199 collateral, 0200-0299 ingest, 0300-0399 alerts,
0400-0499 gateway.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Final, LiteralString

import psycopg

from telemetry.db import Conn
from telemetry.errors import SchemaError

_FILE: Final = re.compile(r"^(\d{4})_([a-z0-9_]+?)(?:\.(timescale|plain))?\.sql$")
_LOCK_KEY: Final = 0x61737477  # "astw": serialises concurrent `db init`


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    variant: str | None  # None (everywhere), "timescale" or "plain"
    sql: str


@dataclass(frozen=True, slots=True)
class InitReport:
    """What ``db init`` did and what the database now offers."""

    timescaledb: bool
    timescaledb_version: str | None
    applied: tuple[str, ...]
    schema_version: int


def discover_migrations() -> list[Migration]:
    """All migration files, ordered by version (plain before variant files)."""
    root = resources.files("telemetry").joinpath("sql", "migrations")
    found: list[Migration] = []
    for entry in root.iterdir():
        m = _FILE.match(entry.name)
        if not m:
            continue
        found.append(
            Migration(int(m.group(1)), m.group(2), m.group(3), entry.read_text(encoding="utf-8"))
        )
    found.sort(key=lambda mig: (mig.version, mig.variant or ""))
    return found


def timescaledb_available(conn: Conn) -> bool:
    """Whether the server can load TimescaleDB (installed and preloaded)."""
    row = conn.execute(
        "SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'"
    ).fetchone()
    if not row or not row[0]:
        return False
    preload = conn.execute("SELECT current_setting('shared_preload_libraries', true)").fetchone()
    return bool(preload and preload[0] and "timescaledb" in str(preload[0]))


def timescaledb_version(conn: Conn) -> str | None:
    """The installed TimescaleDB extension version in this database, if any."""
    row = conn.execute(
        "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
    ).fetchone()
    return str(row[0]) if row else None


def migrate(conn: Conn, *, use_timescaledb: bool | None = None) -> InitReport:
    """Create or upgrade the schema; running it twice changes nothing.

    ``use_timescaledb`` None means: use the extension when the server offers it.
    The choice is recorded at first init and kept afterwards, since the two
    layouts cannot be swapped under existing data.
    """
    if conn.autocommit:
        raise SchemaError("migrate() needs a connection in transaction mode")
    applied: list[str] = []
    try:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            conn.execute(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version integer PRIMARY KEY,
                    name text NOT NULL,
                    variant text,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )"""
            )
            done = {
                int(r[0]): r[1]
                for r in conn.execute("SELECT version, variant FROM schema_migrations")
            }
            ts_active = timescaledb_version(conn) is not None
            if not done:
                wanted = timescaledb_available(conn) if use_timescaledb is None else use_timescaledb
                if wanted:
                    conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
                    ts_active = True
            variant = "timescale" if ts_active else "plain"
            for mig in discover_migrations():
                if mig.variant not in (None, variant):
                    continue
                if mig.version in done and (mig.variant is None or done[mig.version] is not None):
                    continue
                conn.execute(_literal(mig.sql))
                conn.execute(
                    """INSERT INTO schema_migrations (version, name, variant)
                       VALUES (%s, %s, %s)
                       ON CONFLICT (version) DO UPDATE SET variant = EXCLUDED.variant""",
                    (mig.version, mig.name, mig.variant),
                )
                done[mig.version] = mig.variant
                applied.append(
                    f"{mig.version:04d}_{mig.name}" + (f".{mig.variant}" if mig.variant else "")
                )
    except psycopg.Error as exc:
        raise SchemaError(f"migration failed: {exc}") from exc
    return InitReport(
        timescaledb=ts_active,
        timescaledb_version=timescaledb_version(conn),
        applied=tuple(applied),
        schema_version=max(done, default=0),
    )


def _literal(sql: str) -> LiteralString:
    # Migration text ships with the package; it is never built from input.
    return sql  # type: ignore[return-value,unused-ignore]
