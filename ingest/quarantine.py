"""Releasing quarantined messages once their terminals are registered.

``release`` runs each pending quarantined message through the same pipeline
and sink as live traffic (with its original receive time), in batches, and
marks it released in the same transaction as the readings it yields. Messages
whose terminal is still unknown stay quarantined; the store's unique key makes a
second release of the same message harmless.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from assetwatch.settings import Settings
from ingest.batching import Batch
from ingest.pipeline import Message, Pipeline
from ingest.registry import RegistryCache
from ingest.sink import CommitHook, Sink
from telemetry.db import Conn, connect, database_url
from telemetry.sqlfiles import query
from telemetry.store import ReadingWriter

log = logging.getLogger(__name__)


@dataclass(slots=True)
class ReleaseReport:
    """What a release run did."""

    released: int = 0
    still_unknown: int = 0
    readings: int = 0
    rejected: int = 0
    ids: list[int] = field(default_factory=list)


def release(
    settings: Settings, *, commit_hook: CommitHook | None = None, limit: int = 500
) -> ReleaseReport:
    """Re-run every pending quarantined message whose terminal is now known."""
    url = database_url(settings)
    report = ReleaseReport()
    registry = RegistryCache(lambda: connect(url), period_s=3600.0, miss_s=3600.0)
    registry.refresh()
    pipeline = Pipeline(settings, registry)
    sink = Sink(ReadingWriter(settings), commit_hook)
    conn = connect(url, application_name="assetwatch-ingest-release")
    try:
        after = 0
        while True:
            rows = conn.execute(
                query("ingest", "quarantine_pending"), {"after": after, "limit": limit}
            ).fetchall()
            if not rows:
                conn.rollback()
                break
            for qid, received_at, topic, payload, _kind, _ident in rows:
                after = max(after, int(qid))
                _release_one(conn, pipeline, sink, report, int(qid), received_at, topic, payload)
    finally:
        conn.close()
        registry.close()
    return report


def _release_one(
    conn: Conn,
    pipeline: Pipeline,
    sink: Sink,
    report: ReleaseReport,
    qid: int,
    received_at: object,
    topic: str,
    payload: bytes,
) -> None:
    from datetime import datetime

    assert isinstance(received_at, datetime)
    work = pipeline.process(Message(topic, bytes(payload), received_at))
    if work.quarantined:
        report.still_unknown += 1
        return
    conn.execute(
        query("ingest", "quarantine_mark_released"),
        {"id": qid, "note": f"released: {len(work.readings)} readings"},
    )
    batch = Batch()
    batch.add(work)
    done = sink.commit(conn, batch)  # commits the release mark with the readings
    report.released += 1
    report.readings += len(done.inserted)
    report.rejected += len(done.rejected)
    report.ids.append(qid)
