"""Several writer threads: how a batch is split by device, and acks in arrival order."""

from __future__ import annotations

from datetime import UTC, datetime

from ingest.batching import Batch
from ingest.pipeline import Message, Rejected, Work
from ingest.writers import InOrderAcks, split_batch
from telemetry.model import Reading
from telemetry.store import shard_of

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def work(mid: int, device: str, *readers: str) -> Work:
    msg = Message(f"assetwatch/{device}/telemetry", b"{}", NOW, mid, 1, 0)
    return Work(msg, device=device, format="telemetry", readings=[Reading(d, NOW) for d in readers])


def batch(*works: Work) -> Batch:
    b = Batch()
    for w in works:
        b.add(w)
    return b


def test_shard_is_stable_and_spreads_devices() -> None:
    assert shard_of("T000001", 2) == shard_of("T000001", 2)
    shards = {shard_of(f"T{i:06d}", 4) for i in range(100)}
    assert shards == {0, 1, 2, 3}


def test_each_device_goes_to_its_writer_in_arrival_order() -> None:
    devices = [f"T{i:03d}" for i in range(20)]
    works = [work(n + 1, d, d) for n, d in enumerate(devices * 3)]
    parts = split_batch(batch(*works), 2, {})
    assert [k for k, _ in parts] == [0, 1]
    for k, part in parts:
        assert all(shard_of(w.device, 2) == k for w in part.works)
        mids = [w.message.mid for w in part.works]
        assert mids == sorted(mids)
        assert part.readings == len(part.works)
    assert sum(len(p.works) for _, p in parts) == len(works)


def test_a_message_of_several_terminals_is_cut_per_writer_and_counted_once() -> None:
    a = next(f"E{i}" for i in range(100) if shard_of(f"E{i}", 2) == 0)
    b = next(f"E{i}" for i in range(100) if shard_of(f"E{i}", 2) == 1)
    fleet = work(7, "fleet", a, b, a)
    fleet.rejected.append(Rejected(fleet.message, "validate", "range:lat", "bad", "fleet"))
    fleet.duplicates = 2
    parts = dict(split_batch(batch(fleet), 2, {}))
    first, rest = parts[0].works[0], parts[1].works[0]
    assert [r.device_id for r in first.readings] == [a, a]
    assert [r.device_id for r in rest.readings] == [b]
    assert not first.part
    assert rest.part
    assert len(first.rejected) == 1
    assert not rest.rejected
    assert first.duplicates == 2
    assert rest.duplicates == 0
    assert first.message is rest.message


def test_a_message_without_readings_goes_with_its_topic_device() -> None:
    rejected = work(3, "T000009")
    parts = split_batch(batch(rejected), 2, {})
    assert parts == [(shard_of("T000009", 2), parts[0][1])]
    nameless = Work(Message("bad/topic", b"", NOW, 4, 1, 0))
    assert split_batch(batch(nameless), 2, {})[0][0] == 0


def test_acks_go_out_in_hand_over_order_whichever_part_commits_first() -> None:
    sent: list[list[int]] = []
    acks = InOrderAcks(lambda ms: sent.append([m for m, _, _ in ms]))
    first = acks.open(batch(work(1, "A", "A"), work(2, "B", "B")), 2)
    second = acks.open(batch(work(3, "A", "A")), 1)
    acks.done(second)  # the later batch commits first: held back
    assert sent == []
    acks.done(first)
    assert sent == []  # one part of the first batch is still open
    acks.done(first)
    assert sent == [[1, 2], [3]]


def test_a_part_that_never_commits_holds_back_later_acks() -> None:
    sent: list[list[int]] = []
    acks = InOrderAcks(lambda ms: sent.append([m for m, _, _ in ms]))
    lost = acks.open(batch(work(1, "A", "A")), 1)
    later = acks.open(batch(work(2, "B", "B")), 1)
    acks.done(later)
    assert sent == []  # the broker sends both again; the store keeps one copy
    assert lost == 0
