"""The running ingest: broker thread -> pipeline thread -> writer threads.

* paho's network thread receives and enqueues (``ingest.source``);
* the calling thread runs the per-message stages and the batch stage
  (``ingest.pipeline``, ``ingest.batching``);
* ``ingest_writers`` writer threads, each with its own connection, commit
  batches (``ingest.sink``) and then acknowledge their messages, retrying with
  a fresh connection while the database is down.

With more than one writer, each batch is split by device (a stable hash of the
device id picks the writer), so one device's readings are always committed by
the same writer, in order, and two writers never lock the same rows; the
database works on two batches at once. Acknowledgements still go out in the
order the messages arrived (MQTT 5 section 4.6): a part that commits early waits
until every earlier batch has committed (``ingest.writers``).

Between the threads the queues are bounded: a slow database blocks the writers,
then the batch hand-over, then the pipeline stops taking messages, acks stop,
and the broker holds back (Receive Maximum) and queues for the session.
"""

from __future__ import annotations

import gc
import importlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from assetwatch.settings import Settings
from ingest.batching import Batch, Batcher
from ingest.errors import IngestError
from ingest.metrics import IngestMetrics
from ingest.pipeline import Message, Pipeline, Work
from ingest.registry import RegistryCache
from ingest.sink import CommitHook, Committed, Sink
from ingest.source import MqttSource
from ingest.writers import InOrderAcks, LockedHook, split_batch
from telemetry.db import Conn, connect, database_url
from telemetry.errors import DatabaseUnavailable
from telemetry.store import ReadingWriter

log = logging.getLogger(__name__)

_STOP = object()
_STOP_GRACE_S = 5.0


@dataclass(slots=True)
class IngestStats:
    """Running totals of one ingest process (also exported as Prometheus metrics)."""

    messages: int = 0
    readings_written: int = 0
    duplicates: int = 0
    rejected: int = 0
    quarantined: int = 0
    batches: int = 0


def tune_gc(settings: Settings) -> None:
    """Collect the young generation less often (``ingest_gc_gen0_threshold``); process-wide.

    Every message leaves a few short-lived objects (message, work item,
    reading, COPY row) and the dedupe window holds hundreds of thousands of
    keys: at Python's default threshold (700 allocations) the collector ran
    every few dozen messages and took about a fifth of the ingest's CPU under a
    backlog. What it frees is still freed, later; memory stays bounded by the
    threshold. Objects alive at start-up (modules, settings) are frozen out of
    the collector's scans.
    """
    gen0 = settings.ingest_gc_gen0_threshold
    if gen0:
        if not gc.get_freeze_count():
            gc.collect()
            gc.freeze()
        _, gen1, gen2 = gc.get_threshold()
        gc.set_threshold(gen0, gen1, gen2)


def load_commit_hook(settings: Settings) -> CommitHook | None:
    """The hook named by ``settings.ingest_commit_hook`` (``module:factory``), if any."""
    spec = settings.ingest_commit_hook
    if not spec:
        return None
    module_name, _, attr = spec.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise IngestError(f"commit hook {spec!r} cannot be loaded: {exc}") from exc
    hook: CommitHook = factory(settings)
    return hook


class IngestService:
    """One ingest process's worth of threads; :meth:`run` blocks until ``stop_event``."""

    def __init__(
        self,
        settings: Settings,
        *,
        commit_hook: CommitHook | None = None,
        client_id: str | None = None,
        metrics: IngestMetrics | None = None,
    ) -> None:
        self.settings = settings
        self._url = database_url(settings)
        self.metrics = metrics or IngestMetrics()
        self.stats = IngestStats()
        self.registry = RegistryCache(self._connect, period_s=settings.ingest_registry_refresh_s)
        self.pipeline = Pipeline(settings, self.registry)
        self.writers = settings.ingest_writers
        hook: CommitHook | None = commit_hook
        if hook is not None and self.writers > 1:
            hook = LockedHook(hook)
        # One sink (and store writer) per writer thread: they keep per-connection state.
        self.sinks = [Sink(ReadingWriter(settings), hook) for _ in range(self.writers)]
        self.source = MqttSource(settings, client_id=client_id)
        self.acks = InOrderAcks(self.source.ack_batch)
        self._batcher = Batcher(
            max_readings=settings.ingest_batch_size,
            max_age_s=settings.ingest_batch_max_age_ms / 1000.0,
            max_messages=max(
                1, min(settings.ingest_batch_size, settings.ingest_max_inflight_messages // 2)
            ),
        )
        self._to_writer: list[queue.Queue[object]] = [
            queue.Queue(maxsize=2) for _ in range(self.writers)
        ]
        #: True while a writer thread waits with nothing queued: when all are, a
        #: partial batch goes at once instead of waiting for its size or age
        #: (group commit).
        self._idle = [False] * self.writers
        self._shards: dict[str, int] = {}
        self._writer_error: BaseException | None = None
        self._stats_lock = threading.Lock()
        #: Called after each committed part (from its writer thread).
        self.on_commit: Callable[[Committed], None] | None = None
        self._stop = threading.Event()

    def _connect(self) -> Conn:
        return connect(self._url, application_name="assetwatch-ingest")

    # -- the pipeline thread --------------------------------------------------------
    def run(self, stop_event: threading.Event, ready_event: threading.Event | None = None) -> None:
        """Run until ``stop_event`` is set; flushes and commits what it holds on the way out."""
        tune_gc(self.settings)
        self.registry.refresh()
        threads = [
            threading.Thread(
                target=self._writer_loop, args=(i,), name=f"ingest-writer-{i}", daemon=True
            )
            for i in range(self.writers)
        ]
        for th in threads:
            th.start()
        idle = self._idle
        self.source.start()
        if ready_event is not None:
            threading.Thread(
                target=self._signal_ready, args=(ready_event, stop_event), daemon=True
            ).start()
        self._stop = stop_event
        inbound = self.source.queue
        arrived = self.source.arrived
        popleft = inbound.popleft
        process = self.pipeline.process
        batcher = self._batcher
        fromtimestamp = datetime.fromtimestamp
        utc = UTC
        stats = self.stats
        try:
            while not stop_event.is_set():
                if self._writer_error is not None:
                    raise IngestError("a writer thread failed") from self._writer_error
                self.registry.maybe_refresh()
                if not inbound:
                    # Clear, re-check, wait: the network thread sets the event after
                    # appending, so no arrival between the check and the wait is lost.
                    arrived.clear()
                    if not inbound:
                        arrived.wait(max(0.001, min(batcher.due_in(), 0.2)))
                # Drain what is queued (no lock or timeout per message).
                n = 0
                while inbound:
                    topic, payload, mid, qos, t, gen = popleft()
                    msg = Message(
                        topic.decode("utf-8", "replace"),
                        payload,
                        fromtimestamp(t, utc),
                        mid,
                        qos,
                        gen,
                    )
                    n += 1
                    full = batcher.add(process(msg))
                    if full is not None:
                        self._hand_over(full, stop_event)
                    elif batcher.due_in() <= 0:
                        break
                stats.messages += n
                self.metrics.queue_depth.set(len(inbound))
                self.metrics.broker_up.set(1 if self.source.connected else 0)
                # A partial batch goes when it is due, or when nothing more is
                # queued and the writer has nothing to do: under a light load a
                # message waits for one commit, not for the batch age; under a
                # backlog the writer is busy and batches fill up to their size.
                if batcher.batch.works and (batcher.due_in() <= 0 or (all(idle) and not inbound)):
                    self._hand_over(batcher.take(), stop_event)
        finally:
            if batcher.batch.works:
                self._hand_over(batcher.take(), stop_event, final=True)
            self._put_stop()
            deadline = time.monotonic() + 60
            for th in threads:
                th.join(timeout=max(0.0, deadline - time.monotonic()))
            self.source.stop()
            self.registry.close()

    def _put_stop(self) -> None:
        for q in self._to_writer:
            while True:
                try:
                    q.put(_STOP, timeout=0.5)
                    break
                except queue.Full:
                    if self._writer_error is not None:
                        return

    def _signal_ready(self, ready: threading.Event, stop: threading.Event) -> None:
        while not stop.is_set():
            if self.source.wait_subscribed(0.1):
                ready.set()
                return

    def _hand_over(self, batch: Batch, stop_event: threading.Event, *, final: bool = False) -> None:
        if self.writers == 1:
            parts = [(0, batch)]
        else:
            parts = split_batch(batch, self.writers, self._shards)
        number = self.acks.open(batch, len(parts))
        for shard, part in parts:
            self._idle[shard] = False
            q = self._to_writer[shard]
            while True:
                try:
                    q.put((number, part), timeout=0.5)
                    break
                except queue.Full:
                    if self._writer_error is not None:
                        raise IngestError("a writer thread failed") from self._writer_error
                    if stop_event.is_set() and not final:
                        return  # not acknowledged: the broker sends these again

    # -- the writer threads ------------------------------------------------------------
    def _writer_loop(self, shard: int) -> None:
        conn: Conn | None = None
        q = self._to_writer[shard]
        sink = self.sinks[shard]
        try:
            while True:
                if q.empty():
                    self._idle[shard] = True
                    self.source.arrived.set()  # wake the pipeline for a partial batch
                item = q.get()
                self._idle[shard] = False
                if item is _STOP:
                    return
                assert isinstance(item, tuple)
                number, part = item
                conn = self._commit_with_retry(conn, sink, part, number)
        except BaseException as exc:
            self._writer_error = exc
            log.exception("ingest writer %d failed", shard)
        finally:
            if conn is not None:
                conn.close()

    def _commit_with_retry(
        self, conn: Conn | None, sink: Sink, batch: Batch, number: int
    ) -> Conn | None:
        delay = 0.2
        started = time.monotonic()
        while True:
            try:
                if conn is None or conn.closed:
                    conn = self._connect()
                t0 = time.monotonic()
                done = sink.commit(conn, batch)
                self.acks.done(number)
                self._after_commit(batch, done, time.monotonic() - t0)
                return conn
            except DatabaseUnavailable as exc:
                self.metrics.db_up.set(0)
                log.warning("database unavailable (%s); retrying in %.1fs", exc, delay)
                if conn is not None:
                    conn.close()
                conn = None
                if self._stop.is_set() and time.monotonic() - started > _STOP_GRACE_S:
                    # Stopping while the database is down: the broker keeps the
                    # unacknowledged messages and sends them again next time.
                    log.warning("stopping without committing %d messages", len(batch))
                    return None
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    def _after_commit(self, batch: Batch, done: Committed, seconds: float) -> None:
        m_ = self.metrics
        m_.db_up.set(1)
        s = self.stats
        with self._stats_lock:  # several writer threads
            s.batches += 1
            s.readings_written += len(done.inserted)
            s.duplicates += done.duplicates + sum(w.duplicates for w in batch.works)
            s.rejected += len(done.rejected)
            s.quarantined += done.quarantined
        _count_batch(m_, batch.works, done, seconds)
        if self.on_commit is not None:
            self.on_commit(done)


def _count_batch(m: IngestMetrics, works: list[Work], done: Committed, seconds: float) -> None:
    formats: dict[str, int] = {}
    dropped = 0
    for w in works:
        if w.part:
            continue  # the rest of a message split between writers: counted with its first piece
        formats[w.format or "unknown"] = formats.get(w.format or "unknown", 0) + 1
        dropped += w.position_dropped
    for fmt, n in formats.items():
        m.messages_in.labels(fmt).inc(n)
    m.readings_written.inc(len(done.inserted))
    m.duplicates.inc(done.duplicates + sum(w.duplicates for w in works))
    for r in done.rejected:
        m.rejects.labels(r.stage, r.code).inc()
    m.quarantined.inc(done.quarantined)
    m.positions_dropped.inc(dropped)
    m.batch_size.observe(len(done.inserted))
    m.batch_seconds.observe(seconds)
    now = datetime.now(UTC)
    if done.inserted:
        newest = max(r.ts for r in done.inserted)
        m.event_lag.set((now - newest).total_seconds())
    if works:
        m.receive_lag.observe((now - works[0].message.received_at).total_seconds())


def run_ingest(
    settings: Settings,
    *,
    commit_hook: CommitHook | None = None,
    stop_event: threading.Event | None = None,
    ready_event: threading.Event | None = None,
    client_id: str | None = None,
) -> IngestStats:
    """Run the ingest in this thread until ``stop_event`` is set (or forever).

    ``commit_hook(conn, readings)`` is called inside every write transaction
    with the readings just inserted; ``ready_event`` is set once subscribed.
    Metrics are served on ``settings.metrics_port`` when it is set.
    """
    service = IngestService(settings, commit_hook=commit_hook, client_id=client_id)
    if settings.metrics_port:
        service.metrics.serve(settings.metrics_port)
    service.run(stop_event or threading.Event(), ready_event)
    return service.stats
