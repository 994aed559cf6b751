"""A batch of readings as the bulk writer sends it, built column-at-a-time.

:func:`prepare_batch` turns readings into binary-COPY rows (with each
reading's :func:`dedup_key`), the newest row per device by event time (for
``latest_state``) and the (device, hour) buckets the batch touched (for the
rollups). It is the writer's only per-reading Python work, so it works on
whole columns with C-level builtins.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import compress
from operator import attrgetter
from typing import Any

import numpy as np
from psycopg.types.json import Jsonb

from telemetry.model import Reading


def dedup_key(r: Reading) -> int:
    """The per-(device, ts) identity of a reading: ``seq`` if sent, else a content hash.

    The hash covers what the terminal measured (not receive time, topic or
    message id, which differ between deliveries of the same reading), so a
    redelivery of a reading without ``seq`` is recognised as the same one.
    """
    if r.seq is not None:
        return r.seq
    content = (
        r.device_id,
        r.ts.isoformat(),
        r.lat,
        r.lon,
        r.alt_m,
        r.speed_kmh,
        r.heading_deg,
        r.hdop,
        r.sats,
        r.ignition,
        r.engine_on,
        r.engine_hours,
        r.odometer_km,
        r.fuel_pct,
        r.battery_v,
        r.ext_power,
        r.tamper,
        r.alarms,
        sorted(r.metrics.items()),
        r.source,
    )
    digest = hashlib.blake2b(repr(content).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    """One batch as the writer sends it: COPY rows, newest row per device, hours touched."""

    readings: tuple[Reading, ...]  # distinct readings, input order
    keys: list[int]  # their dedup keys, input order
    rows: list[tuple[Any, ...]]  # their COPY rows, grouped by device (see prepare_batch)
    latest_rows: list[tuple[Any, ...]]  # newest row per device, + last_received_at
    latest_devices: tuple[str, ...]
    buckets_device: tuple[str, ...]  # (device, hour since epoch) pairs the batch touched
    buckets_hour: tuple[int, ...]


_get_head = attrgetter(
    "device_id", "ts", "received_at", "seq", "lat", "lon", "alt_m", "speed_kmh", "heading_deg",
    "hdop", "sats", "ignition", "engine_on", "engine_hours", "odometer_km", "fuel_pct",
    "battery_v", "ext_power", "tamper", "source", "topic", "message_id", "late",
)  # fmt: skip
_get_device = attrgetter("device_id")
_get_ts = attrgetter("ts")
_get_seq = attrgetter("seq")
_get_received = attrgetter("received_at")
_get_alarms = attrgetter("alarms")
_get_metrics = attrgetter("metrics")


def prepare_batch(readings: Sequence[Reading]) -> PreparedBatch:
    """COPY rows, the newest row per device and the touched hours.

    Column-at-a-time with C-level builtins (attrgetter, zip, sorted, dict):
    a Python loop per reading cost more than the COPY itself.
    """
    kept = list(readings)
    seqs = list(map(_get_seq, kept))
    if None in seqs:
        keys = [s if s is not None else dedup_key(r) for s, r in zip(seqs, kept, strict=True)]
    else:
        keys = seqs
    devs = list(map(_get_device, kept))
    tss = list(map(_get_ts, kept))
    # Epoch seconds stand for the event times below: hashing and comparing
    # floats is several times cheaper than aware datetimes, and one float
    # step there (under 0.5 us until 2100) is finer than a microsecond.
    epochs = list(map(datetime.timestamp, tss))
    idents = list(zip(devs, epochs, keys, strict=True))
    if len(set(idents)) < len(idents):  # the same reading twice in one batch
        seen: set[tuple[str, float, int]] = set()
        keep = []
        for n, ident in enumerate(idents):
            if ident not in seen:
                seen.add(ident)
                keep.append(n)
        kept = [kept[n] for n in keep]
        keys = [keys[n] for n in keep]
        devs = [devs[n] for n in keep]
        epochs = [epochs[n] for n in keep]
        idents = [idents[n] for n in keep]
    n = len(kept)
    tails: list[tuple[Any, ...]] = [(None, None, k) for k in keys]
    odd = set(compress(range(n), map(bool, map(_get_alarms, kept))))
    odd.update(compress(range(n), map(bool, map(_get_metrics, kept))))
    for i in odd:
        r = kept[i]
        tails[i] = (
            list(r.alarms) if r.alarms else None,
            Jsonb(dict(r.metrics)) if r.metrics else None,
            keys[i],
        )
    rows = list(map(tuple.__add__, map(_get_head, kept), tails))
    # COPY each device's rows together (in input order within a device): the
    # unique index on (device_id, ts, dedup_key) then takes consecutive inserts
    # on the same leaf page, instead of one leaf per row across all devices.
    grouped = sorted(range(n), key=devs.__getitem__)
    # Newest by (ts, key) per device: sort the indices (timsort is linear on
    # the usual in-order batch), the last index per device in a dict wins.
    order = sorted(range(n), key=list(zip(epochs, keys, strict=True)).__getitem__)
    newest = dict(zip(map(devs.__getitem__, order), order, strict=True))
    rxs = list(map(_get_received, kept))
    received: dict[str, datetime] = {}
    if None in rxs:
        for dev, rx in zip(devs, rxs, strict=True):
            if rx is not None:
                got = received.get(dev)
                if got is None or rx > got:
                    received[dev] = rx
    else:
        by_rx = sorted(range(n), key=rxs.__getitem__)
        received = dict(zip(map(devs.__getitem__, by_rx), map(rxs.__getitem__, by_rx), strict=True))
    hours = (np.array(epochs, dtype=np.float64) // 3600).astype(np.int64).tolist()
    buckets = set(zip(devs, hours, strict=True))
    latest_rows = [(*rows[i], received.get(dev)) for dev, i in newest.items()]
    return PreparedBatch(
        readings=tuple(kept),
        keys=keys,
        rows=list(map(rows.__getitem__, grouped)),
        latest_rows=latest_rows,
        latest_devices=tuple(newest),
        buckets_device=tuple(b[0] for b in buckets),
        buckets_hour=tuple(b[1] for b in buckets),
    )
