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
from datetime import UTC, datetime, timedelta
from operator import attrgetter

import numpy as np

from telemetry.copybin import EncodedRows, copy_data, copy_stream, encode_readings, latest_rows
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
    order: list[int]  # COPY order of the readings: by device id, then event time and key
    copy_data: list[bytes]  # binary COPY of the readings in ``order``, in pieces (copybin columns)
    newest: dict[str, int]  # device -> index of its newest reading by (ts, key)
    last_received: dict[str, datetime]  # device -> newest receive time in the batch (UTC)
    latest_data: bytes  # binary COPY of the newest reading per device, + last_received_at
    buckets_device: tuple[str, ...]  # (device, hour since epoch) pairs the batch touched
    buckets_hour: tuple[int, ...]
    bucket_params: tuple[TextArray, Int8Array]  # the same as binary array parameters


_get_device = attrgetter("device_id")
_get_seq = attrgetter("seq")
_HOUR_US = 3_600_000_000
_PG_EPOCH_HOUR = 946_684_800 // 3600  # 2000-01-01 in hours since the Unix epoch
_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_NO_TIME = np.iinfo(np.int64).min
_SLICE = 4096  # readings encoded per call


def prepare_batch(
    readings: Sequence[Reading], *, check: tuple[datetime, timedelta] | None = None
) -> PreparedBatch:
    """COPY streams of the readings and of the newest per device, and the touched hours.

    Column-at-a-time: :mod:`telemetry.copybin` encodes the rows, and one numpy
    sort of (device, event time, dedup key) gives the rest (repeats within the
    batch, the COPY order, each device's newest reading and receive time, the
    hours touched); a Python loop per reading cost more than the server's work
    on it. ``check`` = (latest acceptable event time, allowed future skew)
    checks the readings on the way (raising
    :class:`~telemetry.copybin.NotStorable`); None if they are checked already.
    """
    kept = list(readings)
    if not kept:
        return PreparedBatch(
            0, (), [], [], [], {}, {}, b"", (), (), (text_array([]), int8_array([]))
        )
    seqs = list(map(_get_seq, kept))
    if None in seqs:
        keys = [s if s is not None else dedup_key(r) for s, r in zip(seqs, kept, strict=True)]
    else:
        keys = seqs
    devs = list(map(_get_device, kept))
    n = len(kept)
    # In slices: the encoder's C-level calls (numpy conversions, joins) hold the
    # GIL for their whole length, and on the bulk path this runs on a helper
    # thread while the writer thread waits for the server; slices keep each
    # call to about a millisecond, so the writer gets the GIL back promptly.
    encoded = EncodedRows.concat(
        [
            encode_readings(kept[at : at + _SLICE], keys[at : at + _SLICE], check=check)
            for at in range(0, n, _SLICE)
        ]
    )
    # Devices as small integers in name order: COPY then sends the rows in the
    # unique index's key order (device, ts, key), so consecutive inserts land on
    # the same leaf page instead of one leaf per row across all devices.
    names = sorted(dict.fromkeys(devs))
    code_of = dict(zip(names, range(len(names)), strict=True))
    codes = np.fromiter(map(code_of.__getitem__, devs), dtype=np.int64, count=n)
    order = np.lexsort((encoded.keys, encoded.ts, codes))  # stable: input order among equals
    dev, ts, key = codes[order], encoded.ts[order], encoded.keys[order]
    again = (dev[1:] == dev[:-1]) & (ts[1:] == ts[:-1]) & (key[1:] == key[:-1])
    if again.any():  # the same reading twice in one batch: keep its first occurrence
        keep = np.ones(len(kept), dtype=bool)
        keep[order[1:][again]] = False
        picks = np.flatnonzero(keep)
        at = picks.tolist()
        kept = list(map(kept.__getitem__, at))
        keys = list(map(keys.__getitem__, at))
        encoded = encoded.take(picks)
        codes = codes[picks]
        order = np.lexsort((encoded.keys, encoded.ts, codes))
        dev, ts = codes[order], encoded.ts[order]
    # Each device's rows are one run of ``order``; its newest (ts, key) ends it.
    ends = np.flatnonzero(np.append(dev[1:] != dev[:-1], True))
    starts = np.concatenate(([0], ends[:-1] + 1))
    newest_at = order[ends].tolist()
    rx = np.where(encoded.received_null, _NO_TIME, encoded.received)[order]
    newest_rx = np.maximum.reduceat(rx, starts).tolist()
    last_us = [None if us == _NO_TIME else us for us in newest_rx]
    hours = ts // _HOUR_US + _PG_EPOCH_HOUR
    first = np.flatnonzero(np.append(True, (dev[1:] != dev[:-1]) | (hours[1:] != hours[:-1])))
    bucket_devices = tuple(map(names.__getitem__, dev[first].tolist()))
    bucket_hours = tuple(hours[first].tolist())
    copy_order = order.tolist()
    return PreparedBatch(
        submitted=len(readings),
        readings=tuple(kept),
        keys=keys,
        order=copy_order,
        copy_data=copy_stream(encoded, copy_order),
        newest=dict(zip(names, newest_at, strict=True)),
        last_received={
            d: _PG_EPOCH + timedelta(microseconds=us)
            for d, us in zip(names, last_us, strict=True)
            if us is not None
        },
        latest_data=copy_data(latest_rows(encoded, newest_at, names, last_us)),
        buckets_device=bucket_devices,
        buckets_hour=bucket_hours,
        bucket_params=(text_array(bucket_devices), int8_array(bucket_hours)),
    )
