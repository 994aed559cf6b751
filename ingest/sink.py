"""The write stage: one transaction per batch, then the commit hook, then commit.

Inside one transaction the sink stores the batch's readings with the store's
COPY writer, its dead letters and its quarantined messages, and calls the
commit hook with the readings actually inserted (duplicates excluded) so the
detectors can checkpoint their state atomically with the rows they reflect.
Only after ``COMMIT`` returns may the caller acknowledge the messages.

A connection failure propagates as :class:`DatabaseUnavailable` (the caller
reconnects and retries the same batch). Any other failure - data the database
refuses, a failing commit hook - would repeat forever if retried as is, so the
batch is retried one message per transaction and the messages that still fail
go to ``dead_letters`` with stage ``write``: one bad message never stalls ingest.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import psycopg

from ingest.batching import Batch
from ingest.pipeline import Rejected, Work
from telemetry.db import Conn
from telemetry.deadletters import DeadLetter, dead_letters
from telemetry.errors import DatabaseUnavailable
from telemetry.model import Reading
from telemetry.sqlfiles import query
from telemetry.store import ReadingWriter

log = logging.getLogger(__name__)

#: Called with the readings just inserted, inside the write transaction, before commit.
CommitHook = Callable[[Conn, Sequence[Reading]], None]


@dataclass(frozen=True, slots=True)
class Committed:
    """What one committed batch did."""

    inserted: tuple[Reading, ...]
    duplicates: int
    rejected: tuple[Rejected, ...]
    quarantined: int


class Sink:
    """Commits batches; one per process, used from one thread."""

    def __init__(self, writer: ReadingWriter, commit_hook: CommitHook | None = None) -> None:
        self._writer = writer
        self._hook = commit_hook

    def commit(self, conn: Conn, batch: Batch) -> Committed:
        """Store ``batch`` and commit; see the module docstring for failure handling."""
        try:
            return self._commit(conn, batch.works, ())
        except DatabaseUnavailable:
            raise
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailable(f"database connection lost: {exc}") from exc
        except Exception as exc:  # data or hook failure: isolate the message that causes it
            _rollback(conn)
            if len(batch.works) == 1:
                return self._fail_one(conn, batch.works[0], exc)
            log.warning("batch of %d messages failed (%s); retrying one by one", len(batch), exc)
        parts = [self._commit_or_fail(conn, w) for w in batch.works]
        return Committed(
            tuple(r for p in parts for r in p.inserted),
            sum(p.duplicates for p in parts),
            tuple(r for p in parts for r in p.rejected),
            sum(p.quarantined for p in parts),
        )

    def _commit_or_fail(self, conn: Conn, work: Work) -> Committed:
        try:
            return self._commit(conn, [work], ())
        except DatabaseUnavailable:
            raise
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailable(f"database connection lost: {exc}") from exc
        except Exception as exc:
            _rollback(conn)
            return self._fail_one(conn, work, exc)

    def _fail_one(self, conn: Conn, work: Work, exc: Exception) -> Committed:
        log.error("message on %s cannot be written: %s", work.message.topic, exc)
        reject = Rejected(work.message, "write", "write_failed", f"write failed: {exc!s:.400}")
        bare = Work(work.message, device=work.device, format=work.format, part=work.part)
        return self._commit(conn, [bare], (reject,))

    def _commit(self, conn: Conn, works: Sequence[Work], extra: Sequence[Rejected]) -> Committed:
        readings = [r for w in works for r in w.readings]
        rejected = [*(r for w in works for r in w.rejected), *extra]
        quarantined = [q for w in works for q in w.quarantined]
        # The validate stage ran check_reading on every one of them.
        result = self._writer.write(conn, readings, checked=True)
        if rejected:
            dead_letters(
                conn,
                [
                    DeadLetter(
                        reason=r.reason,
                        stage=r.stage,
                        payload=r.message.payload,
                        topic=r.message.topic,
                        device_id=r.device_id,
                        received_at=r.message.received_at,
                    )
                    for r in rejected
                ],
            )
        if quarantined:
            with conn.cursor() as cur, cur.copy(query("ingest", "copy_quarantine")) as copy:
                for q in quarantined:
                    m = q.message
                    copy.write_row(
                        (m.received_at, m.topic, m.payload, q.id_kind, q.identifier, q.reason)
                    )
        if self._hook is not None and result.inserted:
            self._hook(conn, result.inserted)
        conn.commit()
        self._writer.refresh_if_due(conn)  # plain layout's rollup refresh, now and then
        return Committed(result.inserted, result.duplicates, tuple(rejected), len(quarantined))


def _rollback(conn: Conn) -> None:
    try:
        conn.rollback()
    except psycopg.Error as exc:
        raise DatabaseUnavailable(f"rollback failed: {exc}") from exc
