"""The bulk writer: readings into ``readings``, ``latest_state`` and the rollups.

One call to :meth:`ReadingWriter.write` stores one batch inside the caller's
transaction (the caller commits, so ingest can checkpoint detector state and
acknowledge MQTT messages atomically with the rows). The batch goes by binary
COPY straight into ``readings`` under a savepoint; if a row is already stored
(the unique ``(device_id, ts, dedup_key)`` index says so), it goes again into
a per-session staging table and one statement inserts what is new with
``ON CONFLICT DO NOTHING``. Then ``latest_state`` moves forward by event
time. On plain PostgreSQL the same round trip marks the hours the batch
touched, and :meth:`ReadingWriter.refresh_if_due` (after a commit) folds
closed hours into the stored rollups; TimescaleDB's continuous aggregate needs
only the marks of late hours.
"""

from __future__ import annotations

import contextlib
import logging
import weakref
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

import psycopg
from psycopg.pq import TransactionStatus

from assetwatch.settings import Settings
from telemetry.batch import PreparedBatch, prepare_batch
from telemetry.copybin import NotStorable
from telemetry.copyparams import register_array_dumpers
from telemetry.db import Conn
from telemetry.errors import DatabaseUnavailable, ReadingRangeError, TelemetryError
from telemetry.model import Reading, all_storable, check_reading, check_readings
from telemetry.rollups import refresh_plain
from telemetry.sqlfiles import query


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What a batch did: the readings newly stored (in input order) and the count skipped."""

    inserted: tuple[Reading, ...]
    duplicates: int


@dataclass(frozen=True, slots=True)
class Rejected:
    """A reading the store refuses, with the error naming the field."""

    reading: Reading
    error: ReadingRangeError


log = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def shard_of(device_id: str, writers: int) -> int:
    """Which of ``writers`` parallel writers (0 .. ``writers`` - 1) stores ``device_id``.

    Writers on their own connections must own disjoint devices: then they never
    wait for each other's ``latest_state`` or rollup rows, and one device's
    batches are stored in order by one writer. CRC-32 of the id, not
    :func:`hash` (randomised per process): the same writer across restarts.
    """
    return zlib.crc32(device_id.encode()) % writers


class ReadingWriter:
    """Writes batches of readings; build one per process from the settings.

    >>> writer = ReadingWriter(settings)                      # doctest: +SKIP
    >>> good, rejects = writer.split(batch)                   # doctest: +SKIP
    >>> with conn.transaction():                              # doctest: +SKIP
    ...     result = writer.write(conn, good)
    """

    def __init__(self, settings: Settings, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self.max_future_skew = timedelta(seconds=settings.max_future_skew_s)
        self._clock = clock
        self._plain: weakref.WeakKeyDictionary[Conn, bool] = weakref.WeakKeyDictionary()
        self.refresh_s = settings.rollup_refresh_s
        self._refreshed: weakref.WeakKeyDictionary[Conn, datetime] = weakref.WeakKeyDictionary()
        self._careful: weakref.WeakKeyDictionary[Conn, tuple[int, int]] = (
            weakref.WeakKeyDictionary()
        )

    # --- validation ---------------------------------------------------------------
    def check(self, reading: Reading, *, now: datetime | None = None) -> None:
        """Raise :class:`ReadingRangeError` if ``reading`` cannot be stored."""
        check_reading(reading, now=now or self._clock(), max_future_skew=self.max_future_skew)

    def split(
        self, readings: Iterable[Reading], *, now: datetime | None = None
    ) -> tuple[tuple[Reading, ...], tuple[Rejected, ...]]:
        """Separate storable readings from rejects, so one bad reading loses nothing else."""
        at = now or self._clock()
        rs = list(readings)
        try:
            if all_storable(rs, at + self.max_future_skew, self.max_future_skew):
                return tuple(rs), ()
        except ReadingRangeError:
            pass  # find every bad one below
        good: list[Reading] = []
        bad: list[Rejected] = []
        for r in rs:
            try:
                check_reading(r, now=at, max_future_skew=self.max_future_skew)
            except ReadingRangeError as exc:
                bad.append(Rejected(r, exc))
            else:
                good.append(r)
        return tuple(good), tuple(bad)

    # --- writing ------------------------------------------------------------------
    def write(
        self, conn: Conn, readings: Sequence[Reading], *, checked: bool = False
    ) -> WriteResult:
        """Store a batch inside the caller's transaction; nothing is written if one is bad.

        Raises :class:`ReadingRangeError` for the first reading that fails
        :func:`~telemetry.model.check_reading` (use :meth:`split` first to keep
        the good ones), :class:`DatabaseUnavailable` when the connection breaks
        and :class:`TelemetryError` for any other database error. The
        connection must be in transaction mode (psycopg's default) or inside
        ``conn.transaction()``; the caller commits. ``checked=True`` says every
        reading already passed ``check_reading`` (the ingest's validate stage),
        so the hot path does not check it twice. After committing, a long-lived
        writer calls :meth:`refresh_if_due` (the plain layout's rollup refresh).
        """
        return self.write_prepared(conn, self.prepare(readings, checked=checked))

    def prepare(self, readings: Sequence[Reading], *, checked: bool = False) -> PreparedBatch:
        """Check (unless ``checked``) and encode a batch for :meth:`write_prepared`.

        Needs no connection: a caller with batches in hand prepares the next one
        on another thread while the server stores the current one. Raises
        :class:`ReadingRangeError` for the first reading that cannot be stored.
        """
        now = self._clock()
        skew = self.max_future_skew
        try:
            return prepare_batch(readings, check=None if checked else (now + skew, skew))
        except NotStorable:
            # Name the first bad reading and field. If the exact check finds
            # nothing, it is the authority: encode without the column checks.
            check_readings(readings, now=now, max_future_skew=skew)
        try:
            return prepare_batch(readings)
        except NotStorable as exc:
            raise TelemetryError(f"a reading cannot be encoded for COPY: {exc.__cause__}") from exc

    def store_batches(
        self, conn: Conn, batches: Iterable[Sequence[Reading]], *, checked: bool = False
    ) -> Iterator[WriteResult]:
        """Store ``batches`` in order, each in a transaction of its own; yield each result.

        The bulk path (backfills, imports, the benchmark): while the server
        stores one batch, a helper thread checks and encodes the next, so the
        client's work per reading overlaps the server's instead of adding to
        it. A batch is committed before its result is yielded; a bad reading
        raises :class:`ReadingRangeError` when its batch's turn comes (the
        batches before it stay stored). ``conn`` must be idle (no transaction
        open): each batch commits.
        """
        if conn.autocommit or conn.info.transaction_status != TransactionStatus.IDLE:
            raise TelemetryError(
                "store_batches commits every batch: call it on an idle connection"
                " in transaction mode (not autocommit)"
            )
        todo = iter(batches)
        with ThreadPoolExecutor(1, thread_name_prefix="aw-prepare") as helper:
            pending: list[Future[PreparedBatch]] = []

            def prepare_next() -> None:
                following = next(todo, None)
                if following is not None:
                    pending.append(helper.submit(self.prepare, following, checked=checked))

            prepare_next()
            while pending:
                batch = pending.pop().result()
                try:
                    # The next batch is prepared once this one's first statement
                    # is done: started any earlier, the helper thread took the GIL
                    # while the server answered it, which cost a few milliseconds
                    # a batch (measured; see docs/telemetry.md).
                    result = self._write_checked(conn, batch, started=prepare_next)
                    _commit(conn)
                    self.refresh_if_due(conn)
                except BaseException:
                    _rollback_quietly(conn)
                    raise
                if not pending:  # an empty batch writes nothing, so nothing was started
                    prepare_next()
                yield result

    def write_prepared(self, conn: Conn, batch: PreparedBatch) -> WriteResult:
        """:meth:`write` for a batch from :meth:`prepare` (same transaction rules and errors)."""
        return self._write_checked(conn, batch, started=None)

    def _write_checked(
        self, conn: Conn, batch: PreparedBatch, *, started: Callable[[], None] | None
    ) -> WriteResult:
        if not batch.readings:
            return WriteResult((), batch.submitted)
        try:
            inserted = self._write_batch(conn, batch, started)
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailable(f"writing readings failed: {exc}") from exc
        except psycopg.Error as exc:
            raise TelemetryError(f"writing readings failed: {exc}") from exc
        return WriteResult(inserted, batch.submitted - len(inserted))

    def _write_batch(
        self, conn: Conn, batch: PreparedBatch, started: Callable[[], None] | None
    ) -> tuple[Reading, ...]:
        if conn.autocommit and conn.info.transaction_status == TransactionStatus.IDLE:
            raise TelemetryError("ReadingWriter.write needs a transaction (the caller commits)")
        plain = self._is_plain(conn)  # first, so cursors see the array dumpers it registers
        inserted: tuple[Reading, ...] | None = None
        remaining, window = self._careful.get(conn, (0, _CAREFUL_BATCHES))
        optimistic = remaining == 0
        if optimistic:
            inserted = self._copy_direct(conn, batch, started)
            started = None
        direct = inserted is not None  # its savepoint is still open
        if inserted is None:
            inserted = self._insert_staged(conn, batch, started)
            if len(inserted) < len(batch.readings):
                # Redeliveries come in runs (a reconnect replays a window): stay
                # on the duplicate-tolerant path for a while, twice as long each
                # time the optimistic COPY hits a duplicate again right after.
                window = min(window * 2, _CAREFUL_MAX) if optimistic else window
                self._careful[conn] = (window, window)
            elif remaining:
                self._careful[conn] = (remaining - 1, window)
        elif window > _CAREFUL_BATCHES:
            self._careful[conn] = (0, max(_CAREFUL_BATCHES, window // 2))
        with conn.cursor() as cur:
            # After the optimistic COPY its savepoint is released in the same
            # round trip (simple-query protocol, no parameters).
            cur.execute(
                query("telemetry", "release_latest_prepare" if direct else "latest_prepare")
            )
            with cur.copy(query("telemetry", "latest_copy")) as copy:
                copy.write(batch.latest_data)
            if plain:
                devices, hours = batch.bucket_params
                marks = {"devices": devices, "hours": hours}
                with conn.pipeline():  # four statements, one round trip
                    cur.execute(query("telemetry", "latest_upsert"))
                    # The refresh guard first (its own statement), then renew
                    # marks a refresh has flagged, then mark (migration 0004).
                    cur.execute(query("telemetry", "rollup_mark_guard"))
                    cur.execute(query("telemetry", "rollup_mark_renew"), marks)
                    cur.execute(query("telemetry", "rollup_mark_dirty"), marks)
            else:
                late = self._late_buckets(batch)
                with conn.pipeline():
                    cur.execute(query("telemetry", "latest_upsert"))
                    if late[0]:
                        cur.execute(
                            query("telemetry", "rollup_mark_late"),
                            {"devices": late[0], "hours": late[1]},
                        )
        return inserted

    def _late_buckets(self, batch: PreparedBatch) -> tuple[list[str], list[int]]:
        """TimescaleDB: the batch's buckets the refresh policy may have materialized.

        The policy refreshes up to one hour before now (``end_offset``), so a
        bucket that ended before the previous full hour may be below the
        aggregate's watermark. Buckets that ended before the current hour are
        marked (an hour's margin for the database server's clock); newer ones
        are real-time aggregated anyway, so live data marks nothing.
        """
        cutoff = int(self._clock().timestamp() // 3600)  # the current hour, since the epoch
        devs: list[str] = []
        hours: list[int] = []
        for d, h in zip(batch.buckets_device, batch.buckets_hour, strict=True):
            if h + 1 <= cutoff:
                devs.append(d)
                hours.append(h)
        return devs, hours

    def _copy_direct(
        self, conn: Conn, batch: PreparedBatch, started: Callable[[], None] | None
    ) -> tuple[Reading, ...] | None:
        """COPY straight into ``readings`` under a savepoint; None if a row was already stored.

        ``started`` is called once the savepoint is set, before the COPY.
        """
        with conn.cursor() as cur:
            cur.execute(query("telemetry", "savepoint"))
            if started is not None:
                started()
            try:
                with cur.copy(query("telemetry", "readings_copy")) as copy:
                    for piece in batch.copy_data:
                        copy.write(piece)
            except psycopg.errors.UniqueViolation:
                cur.execute(query("telemetry", "rollback_savepoint"))
                cur.execute(query("telemetry", "release_savepoint"))
                return None
        return batch.readings  # the caller releases the savepoint

    def _insert_staged(
        self, conn: Conn, batch: PreparedBatch, started: Callable[[], None] | None
    ) -> tuple[Reading, ...]:
        """COPY into staging, then insert with ON CONFLICT DO NOTHING (``started``: as
        :meth:`_copy_direct`)."""
        with conn.cursor() as cur:
            cur.execute(query("telemetry", "staging_prepare"))
            if started is not None:
                started()
            with cur.copy(query("telemetry", "staging_copy")) as copy:
                for piece in batch.copy_data:
                    copy.write(piece)
            cur.execute(query("telemetry", "insert_staged"))
            stored = {(str(d), ts, int(k)) for d, ts, k in cur.fetchall()}
        if len(stored) == len(batch.readings):
            return batch.readings
        return tuple(
            r
            for r, key in zip(batch.readings, batch.keys, strict=True)
            if (r.device_id, r.ts, key) in stored
        )

    def refresh_if_due(self, conn: Conn) -> None:
        """Plain layout: fold closed hours into the stored rollups every so often.

        The counterpart of TimescaleDB's refresh policy, off the per-batch path
        (queries compute marked hours live, so answers never depend on when it
        runs). Call it after a commit, with no transaction open; the refresh
        commits its own two steps, polls up to ``_FLAG_WAIT_MS`` for the guard
        (other writers never wait for it) and leaves the work to a refresh
        running elsewhere. Failures are logged: the marks wait for the next.
        """
        plain = self._plain.get(conn)
        if not plain or conn.info.transaction_status != TransactionStatus.IDLE:
            return  # TimescaleDB's policy refreshes there; or nothing written yet
        now = self._clock()
        last = self._refreshed.get(conn)
        if last is None:
            # The first refresh comes one interval after the first batch, so a
            # (re)started writer does not pay for the backlog in its first batch.
            self._refreshed[conn] = now
            return
        if (now - last).total_seconds() < self.refresh_s:
            return
        self._refreshed[conn] = now
        try:
            refresh_plain(conn, now, wait_ms=_FLAG_WAIT_MS)
        except (psycopg.Error, TelemetryError) as exc:
            log.warning("rollup refresh skipped, marks kept for the next one: %s", exc)
            _rollback_quietly(conn)

    def _is_plain(self, conn: Conn) -> bool:
        plain = self._plain.get(conn)
        if plain is None:
            register_array_dumpers(conn)
            row = conn.execute(query("telemetry", "layout")).fetchone()
            plain = bool(row and row[0])
            self._plain[conn] = plain
        return plain


def _commit(conn: Conn) -> None:
    try:
        conn.commit()
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(f"committing readings failed: {exc}") from exc
    except psycopg.Error as exc:
        raise TelemetryError(f"committing readings failed: {exc}") from exc


def _rollback_quietly(conn: Conn) -> None:
    """Roll back after a failed batch; a broken connection has nothing to roll back."""
    with contextlib.suppress(psycopg.Error):
        conn.rollback()


#: How long a writer's periodic refresh polls for the refresh guard (free when
#: no other batch is between its marks and its commit) before it gives up
#: until the next interval.
_FLAG_WAIT_MS: Final = 2_000

#: After a batch with duplicates, at least this many batches skip the optimistic
#: COPY (a failed COPY costs a whole batch's work), at most _CAREFUL_MAX.
_CAREFUL_BATCHES: Final = 8
_CAREFUL_MAX: Final = 512
