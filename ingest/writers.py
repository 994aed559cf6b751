"""Several writer threads in one ingest process: the batch split and the ack order.

``ASSETWATCH_INGEST_WRITERS`` writers each commit on their own connection.
:func:`split_batch` gives each device's readings to one writer (so a device's
batches stay in order and two writers never wait for each other's rows);
:class:`InOrderAcks` releases PUBACKs in the order the messages arrived,
whichever writer commits first (MQTT 5 section 4.6); :class:`LockedHook`
lets the writers share one commit hook.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Final

from ingest.batching import Batch
from ingest.pipeline import Work
from ingest.sink import CommitHook
from telemetry.db import Conn
from telemetry.model import Reading
from telemetry.store import shard_of


def split_batch(batch: Batch, writers: int, memo: dict[str, int]) -> list[tuple[int, Batch]]:
    """``batch`` split by writer, each reading going to its device's writer.

    Messages keep their arrival order within each part. A message whose
    readings all go to one writer (the usual case: one terminal per message)
    goes whole; a message without readings (only rejects or quarantine) goes
    with its topic's device. A message with readings of several terminals on
    different writers (an ISO 15143-3 fleet snapshot) is cut into one piece per
    writer; its rejects, quarantine and counters stay with the first piece, and
    the others are marked ``part`` so metrics count the message once. Its
    acknowledgement waits for all pieces (:class:`InOrderAcks`). ``memo``
    caches each device's writer.
    """

    def writer_of(dev: str) -> int:
        k = memo.get(dev)
        if k is None:
            k = shard_of(dev, writers)
            if len(memo) >= _SHARD_MEMO_MAX:
                memo.clear()
            memo[dev] = k
        return k

    parts: dict[int, Batch] = {}

    def put(k: int, w: Work) -> None:
        part = parts.get(k)
        if part is None:
            part = parts[k] = Batch(started=batch.started)
        part.works.append(w)
        part.readings += len(w.readings)

    for w in batch.works:
        rs = w.readings
        if not rs:
            put(writer_of(w.device) if w.device else 0, w)
            continue
        k = writer_of(rs[0].device_id)
        if len(rs) == 1 or all(writer_of(r.device_id) == k for r in rs):
            put(k, w)
            continue
        pieces: dict[int, list[Reading]] = {}
        for r in rs:
            pieces.setdefault(writer_of(r.device_id), []).append(r)
        for n, (k, readings) in enumerate(pieces.items()):
            if n == 0:
                put(k, replace(w, readings=readings))
            else:
                put(
                    k,
                    Work(w.message, device=w.device, format=w.format, readings=readings, part=True),
                )
    return sorted(parts.items())


#: Devices whose writer :func:`split_batch` remembers (cleared when full: topics
#: can name any device, registered or not).
_SHARD_MEMO_MAX: Final = 100_000


class InOrderAcks:
    """Releases acknowledgements in hand-over order, whichever writer commits first.

    :meth:`open` numbers a batch and says in how many parts it was split;
    :meth:`done` is called once per committed part. A batch's messages are
    acknowledged (``ack``) when all its parts and all earlier batches have
    committed. A part that never commits (stopping while the database is down)
    holds back every later batch's acknowledgements: the broker sends those
    messages again, and the store keeps one copy.
    """

    def __init__(self, ack: Callable[[Sequence[tuple[int, int, int]]], None]) -> None:
        self._ack = ack
        self._lock = threading.Lock()
        self._next_open = 0
        self._next_ack = 0
        #: batch number -> [parts still to commit, its messages' (mid, qos, generation)]
        self._pending: dict[int, list[object]] = {}

    def open(self, batch: Batch, parts: int) -> int:
        with self._lock:
            n = self._next_open
            self._next_open += 1
            self._pending[n] = [
                parts,
                [(w.message.mid, w.message.qos, w.message.generation) for w in batch.works],
            ]
            return n

    def done(self, number: int) -> None:
        with self._lock:
            entry = self._pending[number]
            left = entry[0]
            assert isinstance(left, int)
            entry[0] = left - 1
            # Acknowledge every finished batch at the head of the line, in order;
            # under the lock, so two writers never queue PUBACKs out of order.
            while True:
                head = self._pending.get(self._next_ack)
                if head is None or head[0] != 0:
                    return
                del self._pending[self._next_ack]
                self._next_ack += 1
                mids = head[1]
                assert isinstance(mids, list)
                self._ack(mids)


class LockedHook:
    """A commit hook shared by several writer threads, called by one at a time.

    The streaming detectors' hook keeps an in-memory state cache that is not
    thread-safe. Writers own disjoint devices, so serialising the hook cannot
    deadlock: no writer's hook waits for a row another writer holds.
    """

    def __init__(self, hook: CommitHook) -> None:
        self._hook = hook
        self._lock = threading.Lock()

    def __call__(self, conn: Conn, readings: Sequence[Reading]) -> None:
        with self._lock:
            self._hook(conn, readings)
