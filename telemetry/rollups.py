"""Folding finished hours into the stored hourly rollups (a refresh).

Queries give the same answers before and after a refresh; it only moves work
from query time to here.
"""

from __future__ import annotations

import contextlib
import time
from datetime import UTC, datetime
from typing import Final

import psycopg
from psycopg.pq import TransactionStatus

from telemetry.db import Conn
from telemetry.errors import DatabaseUnavailable, TelemetryError
from telemetry.sqlfiles import query


def _utc_now() -> datetime:
    return datetime.now(UTC)


def materialize_rollups(conn: Conn, *, now: datetime | None = None) -> None:
    """Fold every finished hour into the stored rollups (a refresh).

    Plain layout: materializes dirty buckets whose hour has ended by ``now``
    or whose device's newest event time has passed them (:func:`refresh_plain`,
    waiting for a refresh already running and for the batches in flight).
    TimescaleDB: refreshes the continuous aggregate up to the start of the
    current hour, which folds late data into materialized buckets. Either way
    the refresh commits its own transactions, so pass an autocommit connection
    or one with no transaction open (it is left as it was); a connection inside
    a transaction raises :class:`TelemetryError` (commit first). Queries give
    the same answers before and after; this only moves work from query time
    to here.
    """
    at = now or _utc_now()
    if conn.info.transaction_status != TransactionStatus.IDLE:
        raise TelemetryError(
            "refreshing rollups cannot run inside a transaction: commit first (the"
            " refresh commits its own steps; TimescaleDB's refresh_continuous_aggregate"
            " refuses a transaction block)"
        )
    try:
        row = conn.execute(query("telemetry", "layout")).fetchone()
        if not conn.autocommit:
            conn.rollback()  # only the layout query was in it
        if row and row[0]:
            refresh_plain(conn, at, wait_ms=None)
        elif conn.autocommit:
            _refresh_cagg(conn, at)
        else:
            conn.autocommit = True
            try:
                _refresh_cagg(conn, at)
            finally:
                conn.autocommit = False
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(f"refreshing rollups failed: {exc}") from exc
    except psycopg.Error as exc:
        raise TelemetryError(f"refreshing rollups failed: {exc}") from exc


def refresh_plain(conn: Conn, at: datetime, *, wait_ms: int | None) -> bool:
    """Plain layout: fold the closed dirty buckets, in two transactions of its own.

    Step 1 flags the marks to fold under the refresh guard held exclusively
    (migration 0004), so it sees the readings of every batch that marked
    before it. With ``wait_ms`` None it waits in the lock queue as long as it
    takes (batches arriving meanwhile wait behind it); with ``wait_ms`` set it
    polls for the guard between batches, so batches never wait for it, and
    raises :class:`TelemetryError` if the guard stays busy that long. Step 2
    folds the flagged marks without the guard; a batch that renews one
    meanwhile keeps it dirty. A session-level lock keeps refreshes one at a
    time: with ``wait_ms`` set, a refresh that finds another running returns
    False at once (that one does the work); with None it waits for it, then
    runs. ``conn`` must have no transaction open; psycopg errors propagate
    (the caller wraps them).
    """
    with conn.transaction():
        if wait_ms is None:
            conn.execute(query("telemetry", "rollup_refresh_lock"))
        else:
            row = conn.execute(query("telemetry", "rollup_refresh_try_lock")).fetchone()
            if not (row and row[0]):
                return False
    try:
        with conn.transaction():
            if wait_ms is not None:
                _poll_guard(conn, wait_ms)
            conn.execute(query("telemetry", "rollup_flag_closing_plain"), {"now": at})
        with conn.transaction():
            conn.execute(query("telemetry", "rollup_fold_closing_plain"))
    finally:
        # A broken connection has released its session locks with it.
        with contextlib.suppress(psycopg.Error), conn.transaction():
            conn.execute(query("telemetry", "rollup_refresh_unlock"))
    return True


def _poll_guard(conn: Conn, wait_ms: int) -> None:
    """Take the refresh guard exclusively in this transaction, trying every few ms."""
    deadline = time.monotonic() + wait_ms / 1000
    while True:
        row = conn.execute(query("telemetry", "rollup_flag_try_guard")).fetchone()
        if row and row[0]:
            return
        if time.monotonic() >= deadline:
            raise TelemetryError(
                f"the rollup refresh guard stayed busy for {wait_ms} ms"
                " (a batch, or an UPDATE/DELETE of readings, kept it)"
            )
        time.sleep(_GUARD_POLL_S)


_GUARD_POLL_S: Final = 0.005


def refresh_timescale(conn: Conn, *, now: datetime | None = None) -> bool:
    """On TimescaleDB, :func:`materialize_rollups` (and True); on the plain layout nothing.

    For a scheduled caller such as the ``detect`` role: on TimescaleDB this is
    what forgets the late-data marks; the plain layout's writer refreshes on
    its own, and a second refresher there would only contend with it for the
    same marks. Call it with no transaction open.
    """
    idle = conn.info.transaction_status == TransactionStatus.IDLE
    try:
        row = conn.execute(query("telemetry", "layout")).fetchone()
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(f"reading the layout failed: {exc}") from exc
    if row and row[0]:
        return False
    if idle and not conn.autocommit:
        conn.rollback()  # only the layout query was in it
    materialize_rollups(conn, now=now)
    return True


def _refresh_cagg(conn: Conn, at: datetime) -> None:
    """Refresh the continuous aggregate, waiting out TimescaleDB's own refresh job.

    A refresh overlapping the policy job's window fails with SQLSTATE 55P03
    ("due to a concurrent refresh"); the job releases it within moments, so a
    few short retries (autocommit: nothing else to roll back) beat an error.

    The late-data marks the refresh covers are flagged first and forgotten after
    it (each its own transaction): a mark the writer renews meanwhile (its
    readings may be newer than the refresh saw) loses the flag and stays.
    """
    conn.execute(query("telemetry", "rollup_flag_closing"), {"now": at})
    for attempt in range(_REFRESH_TRIES):
        try:
            conn.execute(query("telemetry", "cagg_refresh"), {"now": at})
            break
        except psycopg.errors.LockNotAvailable:
            if attempt == _REFRESH_TRIES - 1:
                raise
            time.sleep(0.2 * (attempt + 1))
    conn.execute(query("telemetry", "rollup_forget_closing"))


_REFRESH_TRIES: Final = 6
