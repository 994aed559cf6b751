"""Connections to PostgreSQL, with psycopg errors wrapped where they enter."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from assetwatch.settings import Settings
from telemetry.errors import DatabaseUnavailable

Conn = psycopg.Connection[TupleRow]


def database_url(settings: Settings) -> str:
    """The configured database URL, or a clear error when there is none."""
    if not settings.database_url:
        raise DatabaseUnavailable(
            "ASSETWATCH_DATABASE_URL is not set"
            " (only `assetwatch demo` starts an embedded database)"
        )
    return settings.database_url


def connect(url: str, *, autocommit: bool = False, application_name: str = "assetwatch") -> Conn:
    """Open one connection; a failure becomes :class:`DatabaseUnavailable`."""
    try:
        return psycopg.connect(url, autocommit=autocommit, application_name=application_name)
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(f"cannot connect to the database: {exc}") from exc


@contextmanager
def connection(settings: Settings, *, autocommit: bool = False) -> Iterator[Conn]:
    """A connection for the length of a ``with`` block (CLI commands, tests)."""
    conn = connect(database_url(settings), autocommit=autocommit)
    try:
        yield conn
    finally:
        conn.close()


def open_pool(settings: Settings, *, name: str = "assetwatch") -> ConnectionPool[Conn]:
    """A connection pool sized by the settings, opened and waiting for its minimum."""
    pool: ConnectionPool[Conn] = ConnectionPool(
        database_url(settings),
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
        kwargs={"application_name": name},
        open=False,
        name=name,
    )
    try:
        pool.open(wait=True, timeout=30)
    except Exception as exc:  # psycopg_pool.PoolTimeout and OperationalError
        pool.close()
        raise DatabaseUnavailable(f"cannot open a connection pool: {exc}") from exc
    return pool
