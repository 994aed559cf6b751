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
from datetime import datetime, timedelta
from operator import attrgetter

import numpy as np

from telemetry.copybin import EncodedRows, copy_data, encode_readings, latest_rows
from telemetry.copyparams import Int8Array, TextArray, int8_array, text_array
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
    """One batch as the writer sends it: COPY streams, newest reading per device, hours touched."""

    submitted: int  # readings given, repeats within the batch included
    readings: tuple[Reading, ...]  # distinct readings, input order
    keys: list[int]  # their dedup keys, input order
    order: list[int]  # COPY order of the readings: each device's together, input order within
    copy_data: bytes  # binary COPY of the readings in ``order`` (telemetry.copybin columns)
    newest: dict[str, int]  # device -> index of its newest reading by (ts, key)
    last_received: dict[str, datetime]  # device -> newest receive time in the batch
    latest_data: bytes  # binary COPY of the newest reading per device, + last_received_at
    buckets_device: tuple[str, ...]  # (device, hour since epoch) pairs the batch touched
    buckets_hour: tuple[int, ...]
    bucket_params: tuple[TextArray, Int8Array]  # the same as binary array parameters


_get_device = attrgetter("device_id")
_PG_EPOCH_HOUR = 946_684_800 // 3600  # 2000-01-01 in hours since the Unix epoch
_get_seq = attrgetter("seq")
_get_received = attrgetter("received_at")


def prepare_batch(
    readings: Sequence[Reading], *, check: tuple[datetime, timedelta] | None = None
) -> PreparedBatch:
    """COPY streams of the readings and of the newest per device, and the touched hours.

    Column-at-a-time with C-level builtins (attrgetter, zip, sorted, dict) and
    :mod:`telemetry.copybin`: a Python loop per reading cost more than the
    server's work on it. ``check`` = (latest acceptable event time, allowed
    future skew) checks the readings on the way (raising
    :class:`~telemetry.copybin.NotStorable`); None if they are checked already.
    """
    kept = list(readings)
    if not kept:
        return PreparedBatch(
            0, (), [], [], b"", {}, {}, b"", (), (), (text_array([]), int8_array([]))
        )
    seqs = list(map(_get_seq, kept))
    if None in seqs:
        keys = [s if s is not None else dedup_key(r) for s, r in zip(seqs, kept, strict=True)]
    else:
        keys = seqs
    devs = list(map(_get_device, kept))
    encoded = encode_readings(kept, keys, check=check)
    # Event times as integer microseconds: hashing and comparing ints is
    # several times cheaper than aware datetimes.
    stamps = encoded.ts_us
    idents = list(zip(devs, stamps, keys, strict=True))
    if len(set(idents)) < len(idents):  # the same reading twice in one batch
        seen: set[tuple[str, int, int]] = set()
        keep = []
        for n, ident in enumerate(idents):
            if ident not in seen:
                seen.add(ident)
                keep.append(n)
        kept = [kept[n] for n in keep]
        keys = [keys[n] for n in keep]
        devs = [devs[n] for n in keep]
        stamps = [stamps[n] for n in keep]
        encoded = EncodedRows(
            ts_us=stamps,
            rows=[encoded.rows[n] for n in keep],
            fixed=[encoded.fixed[n] for n in keep],
            tails=[encoded.tails[n] for n in keep],
        )
    n = len(kept)
    # COPY each device's rows together (in input order within a device): the
    # unique index on (device_id, ts, dedup_key) then takes consecutive inserts
    # on the same leaf page, instead of one leaf per row across all devices.
    grouped = sorted(range(n), key=devs.__getitem__)
    # Newest by (ts, key) per device: sort the indices (timsort is linear on
    # the usual in-order batch), the last index per device in a dict wins.
    order = sorted(range(n), key=list(zip(stamps, keys, strict=True)).__getitem__)
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
    hours = ((np.array(stamps, dtype=np.int64) // 3_600_000_000) + _PG_EPOCH_HOUR).tolist()
    buckets = set(zip(devs, hours, strict=True))
    bucket_devices = tuple(b[0] for b in buckets)
    bucket_hours = tuple(b[1] for b in buckets)
    latest = latest_rows(
        encoded, list(newest.values()), list(newest), list(map(received.get, newest))
    )
    return PreparedBatch(
        submitted=len(readings),
        readings=tuple(kept),
        keys=keys,
        order=grouped,
        copy_data=copy_data(list(map(encoded.rows.__getitem__, grouped))),
        newest=newest,
        last_received=received,
        latest_data=copy_data(latest),
        buckets_device=bucket_devices,
        buckets_hour=bucket_hours,
        bucket_params=(text_array(bucket_devices), int8_array(bucket_hours)),
    )
