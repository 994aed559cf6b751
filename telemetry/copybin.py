"""Readings as PostgreSQL binary-COPY rows, encoded a column at a time.

Why not psycopg's ``Copy.write_row``: it encodes row by row and field by field
(about a microsecond a reading for the 26 columns here, as much as the
server's own work on the row), and no maintained library encodes whole columns
(``pgcopy`` packs row by row with :mod:`struct`). The binary COPY format is
small and stable (PostgreSQL docs, "COPY", File Formats: a signature, then per
row a 16-bit field count and per field a 32-bit length, -1 for NULL, and the
type's send format), so this module builds it with numpy: the fixed-width
columns of every reading are packed into one structured array per NULL
pattern (usually one per batch) and cut into per-row byte strings, the text
columns come from small caches (:mod:`telemetry.copytext`: a batch repeats its
device ids, sources and topics), and a row is three byte strings, joined with
the others in the order the writer sends (:func:`copy_stream`). Tests compare
every byte with psycopg's encoder and round-trip the rows through the server.

The column order of a row is :data:`READING_COLUMNS` (the COPY statements in
``queries.sql`` list the columns in that order); a ``latest_state`` row has
``last_received_at`` after the fixed-width block (:data:`LATEST_COLUMNS`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from itertools import compress
from operator import attrgetter, is_not
from struct import Struct
from typing import Final, cast

import numpy as np

from telemetry.copytext import NULL, TextCache, full_tail
from telemetry.errors import ReadingRangeError
from telemetry.model import EPOCH_FLOOR, FIELD_BOUNDS, SOURCES, Reading, check_reading_until

#: The fixed-width columns, in COPY order, with their numpy send format.
_FIXED: Final = (
    ("ts", ">i8"),  # timestamptz: microseconds since 2000-01-01 UTC
    ("received_at", ">i8"),
    ("seq", ">i8"),
    ("lat", ">f8"),
    ("lon", ">f8"),
    ("alt_m", ">f8"),
    ("speed_kmh", ">f8"),
    ("heading_deg", ">f8"),
    ("hdop", ">f8"),
    ("sats", ">i2"),
    ("ignition", "u1"),
    ("engine_on", "u1"),
    ("engine_hours", ">f8"),
    ("odometer_km", ">f8"),
    ("fuel_pct", ">f8"),
    ("battery_v", ">f8"),
    ("ext_power", "u1"),
    ("tamper", "u1"),
    ("late", "u1"),
    ("dedup_key", ">i8"),
)
_TAIL: Final = ("source", "topic", "message_id", "alarms", "metrics")

#: Column order of an encoded ``readings`` row.
READING_COLUMNS: Final = ("device_id", *(name for name, _ in _FIXED), *_TAIL)
#: Column order of an encoded ``latest_state`` row.
LATEST_COLUMNS: Final = (
    "device_id",
    *(name for name, _ in _FIXED),
    "last_received_at",
    *_TAIL,
)

SIGNATURE: Final = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, extension length
TRAILER: Final = b"\xff\xff"

#: The numeric columns (floats, small ints and booleans, read as float64).
_NUMERIC: Final = (
    "lat", "lon", "alt_m", "speed_kmh", "heading_deg", "hdop", "sats", "ignition",
    "engine_on", "engine_hours", "odometer_km", "fuel_pct", "battery_v", "ext_power", "tamper",
)  # fmt: skip
_NUMERIC_GETTERS: Final = tuple((name, attrgetter(name)) for name in _NUMERIC)
_get_ts = attrgetter("ts")
_get_received = attrgetter("received_at")
_get_seq = attrgetter("seq")
_get_late = attrgetter("late")
_get_device = attrgetter("device_id")
_get_source = attrgetter("source")
_get_topic = attrgetter("topic")
_get_message_id = attrgetter("message_id")
_get_alarms = attrgetter("alarms")
_get_metrics = attrgetter("metrics")
_is_not_none = partial(is_not, None)

_PG_EPOCH_S: Final = 946_684_800  # 2000-01-01 in Unix seconds
_TSTZ: Final = Struct(">iq")


class NotStorable(Exception):
    """The column checks found a reading that cannot be stored (the caller finds which)."""


@dataclass(frozen=True, slots=True)
class EncodedRows:
    """A batch's readings as binary-COPY rows in three parts each (input order).

    A row is ``heads[i] + fixed[i] + tails[i]`` (device id; fixed-width block;
    text columns); :func:`copy_stream` joins them in the order the writer sends.
    """

    ts: np.ndarray  # int64 event times, microseconds since 2000-01-01 UTC
    keys: np.ndarray  # int64 dedup keys
    received: np.ndarray  # int64 receive times as ``ts``, 0 where NULL
    received_null: np.ndarray  # bool
    heads: list[bytes]
    #: the fixed-width block of each row and its text tail, for ``latest_state`` rows too
    fixed: list[bytes]
    tails: list[bytes]

    def take(self, picks: np.ndarray) -> EncodedRows:
        """The rows ``picks`` (an index array), in that order."""
        at = picks.tolist()
        return EncodedRows(
            ts=self.ts[picks],
            keys=self.keys[picks],
            received=self.received[picks],
            received_null=self.received_null[picks],
            heads=list(map(self.heads.__getitem__, at)),
            fixed=list(map(self.fixed.__getitem__, at)),
            tails=list(map(self.tails.__getitem__, at)),
        )

    @staticmethod
    def concat(parts: Sequence[EncodedRows]) -> EncodedRows:
        """The rows of ``parts``, one after the other."""
        if len(parts) == 1:
            return parts[0]
        return EncodedRows(
            ts=np.concatenate([p.ts for p in parts]),
            keys=np.concatenate([p.keys for p in parts]),
            received=np.concatenate([p.received for p in parts]),
            received_null=np.concatenate([p.received_null for p in parts]),
            heads=[h for p in parts for h in p.heads],
            fixed=[f for p in parts for f in p.fixed],
            tails=[t for p in parts for t in p.tails],
        )


text_cache = TextCache(len(READING_COLUMNS), len(LATEST_COLUMNS))


def _micros(times: Sequence[datetime | None]) -> tuple[np.ndarray, np.ndarray]:
    """(microseconds since 2000-01-01 UTC, is-NULL mask) of aware datetimes, exactly.

    ``datetime.timestamp`` is a float; its whole seconds are exact after
    rounding, and the microseconds are taken from the datetime itself, so no
    float error reaches the result. An offset with a fraction of a second (which
    Python allows) would break that split; such a batch is converted exactly,
    one datetime at a time.
    """
    n = len(times)
    filled: list[datetime]
    if None in times:
        null = np.fromiter((t is None for t in times), dtype=bool, count=n)
        filled = [_PG_EPOCH if t is None else t for t in times]
    else:
        null = np.zeros(n, dtype=bool)
        filled = list(times)  # type: ignore[arg-type]  # no None in it
    stamps = np.fromiter(map(datetime.timestamp, filled), dtype=np.float64, count=n)
    micro = np.fromiter(map(_get_microsecond, filled), dtype=np.int64, count=n)
    seconds = np.rint(stamps - micro * 1e-6)
    if np.abs(stamps - seconds - micro * 1e-6).max(initial=0.0) > 1e-5:
        exact = [(t - _PG_EPOCH) // _ONE_US for t in filled]
        return np.array(exact, dtype=np.int64), null
    return (seconds.astype(np.int64) - _PG_EPOCH_S) * 1_000_000 + micro, null


_PG_EPOCH: Final = datetime(2000, 1, 1, tzinfo=UTC)
_ONE_US: Final = timedelta(microseconds=1)
_get_microsecond = attrgetter("microsecond")


def encode_readings(
    readings: Sequence[Reading],
    keys: Sequence[int],
    *,
    check: tuple[datetime, timedelta] | None = None,
) -> EncodedRows:
    """Binary-COPY rows of ``readings`` with their dedup ``keys``.

    ``check`` = (latest acceptable event time, the future skew it allows):
    check every reading as :func:`~telemetry.model.check_reading` does, a
    column at a time on the arrays the encoding needs anyway, and raise
    :class:`NotStorable` if one fails (the caller then finds and names it).
    ``None`` when the readings are checked already.
    """
    n = len(readings)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return EncodedRows(empty, empty, empty, np.zeros(0, dtype=bool), [], [], [])
    columns: dict[str, np.ndarray] = {}
    nulls: dict[str, np.ndarray] = {}
    tss = list(map(_get_ts, readings))
    if check is not None:
        try:  # comparing with an aware bound raises TypeError for a naive time
            if min(tss) < EPOCH_FLOOR or max(tss) > check[0]:
                raise NotStorable
        except TypeError as exc:
            raise NotStorable from exc
    columns["ts"], _ = _micros(tss)
    received, received_null = _micros(list(map(_get_received, readings)))
    columns["received_at"] = received
    if received_null.any():
        nulls["received_at"] = received_null
    seqs = list(map(_get_seq, readings))
    if None in seqs:
        nulls["seq"] = np.fromiter((s is None for s in seqs), dtype=bool, count=n)
        seqs = [0 if s is None else s for s in seqs]
    try:
        columns["seq"] = np.array(seqs, dtype=np.int64)
    except (OverflowError, TypeError, ValueError) as exc:
        raise NotStorable from exc
    for name, get in _NUMERIC_GETTERS:  # a column per call: no call holds the GIL long
        values = list(map(get, readings))
        try:
            col = np.array(values, dtype=np.float64)  # None -> NaN
        except (TypeError, ValueError) as exc:
            raise NotStorable from exc
        absent = np.isnan(col)
        if absent.any():
            # NaN stands for None here: a NaN value would be stored as NULL.
            if int(np.count_nonzero(absent)) != values.count(None):
                raise NotStorable
            nulls[name] = absent
            col = np.where(absent, 0.0, col)
        columns[name] = col
    if check is not None:
        _check_columns(readings, columns, nulls, check)
    columns["late"] = np.fromiter(map(_get_late, readings), dtype=bool, count=n)
    columns["dedup_key"] = np.array(keys, dtype=np.int64)

    # One structured array per NULL pattern: a NULL field is its -1 length only.
    pattern = np.zeros(n, dtype=np.int64)
    for bit, (name, _) in enumerate(_FIXED):
        mask = nulls.get(name)
        if mask is not None:
            pattern |= mask.astype(np.int64) << bit
    if not pattern.any() or (pattern == pattern[0]).all():
        fixed = _pack(int(pattern[0]), columns, None)
    else:
        fixed = [b""] * n
        for kind in np.unique(pattern).tolist():
            where = np.flatnonzero(pattern == kind)
            for i, block in zip(where.tolist(), _pack(kind, columns, where), strict=True):
                fixed[i] = block

    texts = text_cache
    heads_get = texts.heads.get
    devices = list(map(_get_device, readings))
    cached = list(map(heads_get, devices))  # C-level lookups; None where not cached yet
    if None in cached:
        cached = [h or texts.head(d) for h, d in zip(cached, devices, strict=True)]
    heads = cast(list[bytes], cached)
    tail_keys = list(zip(map(_get_source, readings), map(_get_topic, readings), strict=True))
    cached = list(map(texts.tails.get, tail_keys))
    if None in cached:
        cached = [t or texts.plain_tail(k) for t, k in zip(cached, tail_keys, strict=True)]
    tails = cast(list[bytes], cached)
    odd = set(compress(range(n), map(_is_not_none, map(_get_message_id, readings))))
    odd.update(compress(range(n), map(bool, map(_get_alarms, readings))))
    odd.update(compress(range(n), map(bool, map(_get_metrics, readings))))
    for i in odd:
        tails[i] = full_tail(readings[i], text_cache)
    return EncodedRows(
        ts=columns["ts"],
        keys=columns["dedup_key"],
        received=received,
        received_null=received_null,
        heads=heads,
        fixed=fixed,
        tails=tails,
    )


_BOUNDED: Final = tuple((name, low, high) for name, low, high in FIELD_BOUNDS)


def _check_columns(
    readings: Sequence[Reading],
    columns: Mapping[str, np.ndarray],
    nulls: Mapping[str, np.ndarray],
    check: tuple[datetime, timedelta],
) -> None:
    """The rest of :func:`~telemetry.model.check_reading`, on the encoder's columns."""
    for name, low, high in _BOUNDED:
        col = columns[name]
        inside = (col >= low) & (col <= high)  # NaN and +-inf are outside
        absent = nulls.get(name)
        if absent is not None:
            inside |= absent
        if not inside.all():
            raise NotStorable
    lat, lon = nulls.get("lat"), nulls.get("lon")
    if (lat is None) != (lon is None) or (
        lat is not None and lon is not None and not np.array_equal(lat, lon)
    ):
        raise NotStorable
    seq = columns["seq"]
    if len(seq) and int(seq.min()) < 0:  # above 2^63-1 did not fit the int64 array
        raise NotStorable
    if not set(map(_get_source, readings)) <= SOURCES:
        raise NotStorable
    n = len(readings)
    some = set(compress(range(n), map(bool, map(_get_metrics, readings))))
    some.update(compress(range(n), map(bool, map(_get_alarms, readings))))
    for i in sorted(some):
        try:
            check_reading_until(readings[i], check[0], check[1])
        except ReadingRangeError as exc:
            raise NotStorable from exc


def _pack(kind: int, columns: Mapping[str, np.ndarray], where: np.ndarray | None) -> list[bytes]:
    """The fixed-width blocks of the rows with NULL pattern ``kind`` (``where``: which)."""
    fields: list[tuple[str, str]] = []
    values: list[tuple[str, np.ndarray | int]] = []
    for bit, (name, fmt) in enumerate(_FIXED):
        if kind >> bit & 1:
            fields.append((f"{name}_n", ">i4"))
            values.append((f"{name}_n", -1))
        else:
            fields.append((f"{name}_n", ">i4"))
            fields.append((name, fmt))
            values.append((f"{name}_n", np.dtype(fmt).itemsize))
            col = columns[name]
            values.append((name, col if where is None else col[where]))
    size = len(columns["ts"]) if where is None else len(where)
    block = np.empty(size, dtype=fields)
    for name, value in values:
        block[name] = value
    out: list[bytes] = block.view(f"V{block.dtype.itemsize}").tolist()
    return out


def latest_rows(
    encoded: EncodedRows,
    picks: Sequence[int],
    devices: Sequence[str],
    last_received: Sequence[int | None],
) -> list[bytes]:
    """Rows ``picks`` as ``latest_state`` rows of ``devices``, with their newest receive
    times (microseconds as :attr:`EncodedRows.received`, None for NULL)."""
    texts = text_cache
    get = texts.latest_heads.get
    heads = [get(d) or texts.latest_head(d) for d in devices]
    pack = _TSTZ.pack
    lrx = [NULL if us is None else pack(8, us) for us in last_received]
    fixed, tails = encoded.fixed, encoded.tails
    return [
        b"".join((head, fixed[i], rx, tails[i]))
        for head, i, rx in zip(heads, picks, lrx, strict=True)
    ]


def copy_stream(encoded: EncodedRows, order: Sequence[int], *, rows: int = 4096) -> list[bytes]:
    """A complete binary COPY stream of the rows of ``encoded`` in ``order``, in pieces.

    Pieces of ``rows`` rows: each is one join of its parts (no per-row bytes
    objects), and no single join holds the GIL for long (see
    :func:`telemetry.batch.prepare_batch`).
    """
    heads, fixed, tails = encoded.heads, encoded.fixed, encoded.tails
    pieces = [SIGNATURE]
    for start in range(0, len(order), rows):
        some = order[start : start + rows]
        parts: list[bytes] = [TRAILER] * (3 * len(some))
        parts[0::3] = map(heads.__getitem__, some)
        parts[1::3] = map(fixed.__getitem__, some)
        parts[2::3] = map(tails.__getitem__, some)
        pieces.append(b"".join(parts))
    pieces.append(TRAILER)
    return pieces


def copy_data(rows: Sequence[bytes]) -> bytes:
    """A complete binary COPY stream of ``rows``."""
    return b"".join((SIGNATURE, b"".join(rows), TRAILER))
