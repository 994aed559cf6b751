"""The reading: one observation of one terminal at one event time.

Every decoder (JSON, JT/T 808, AIS, LoRaWAN, ISO 15143-3) produces these; the
store writes them; detectors consume them. Field names follow the JSON reading
of the interface contract (``docs/telemetry.md``).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import compress
from operator import attrgetter
from types import MappingProxyType
from typing import Final

import numpy as np

from telemetry.errors import ReadingRangeError

#: Source formats a reading can come from (the ``source`` column).
SOURCES: Final = frozenset({"json", "jt808", "ais", "lorawan", "aemp"})

#: Collateral-relevant alarm names a reading may carry (``alarms`` column).
ALARMS: Final = frozenset(
    {
        "antenna_cut",
        "antenna_short",
        "under_voltage",
        "main_power_lost",
        "illegal_displacement",
        "stolen",
        "illegal_ignition",
        "area_in",
        "area_out",
        "gnss_fault",
        "case_opened",
        "emergency",
    }
)

#: The shared ``metrics`` of a reading that has none (read-only).
EMPTY_METRICS: Mapping[str, float] = MappingProxyType({})


@dataclass(slots=True)
class Reading:
    """One telemetry reading; only ``device_id`` and ``ts`` are required.

    Treat it as immutable: change a copy with :func:`dataclasses.replace`. It
    is not declared frozen because a frozen dataclass's ``__init__`` sets every
    field through ``object.__setattr__``, five times the cost of a plain one,
    and the ingest builds one per reading (tests check that no stage or
    detector changes the readings it is given).

    ``ts`` is the device's event time (aware, UTC); ``received_at`` is when the
    ingest took it from the broker. ``metrics`` holds class-specific numbers
    (``activity``, ``silo_level_pct``, ``power_kw`` ...).
    """

    device_id: str
    ts: datetime
    seq: int | None = None
    lat: float | None = None
    lon: float | None = None
    alt_m: float | None = None
    speed_kmh: float | None = None
    heading_deg: float | None = None
    hdop: float | None = None
    sats: int | None = None
    ignition: bool | None = None
    engine_on: bool | None = None
    engine_hours: float | None = None
    odometer_km: float | None = None
    fuel_pct: float | None = None
    battery_v: float | None = None
    ext_power: bool | None = None
    tamper: bool | None = None
    alarms: tuple[str, ...] = ()
    metrics: Mapping[str, float] = field(default_factory=lambda: EMPTY_METRICS)
    received_at: datetime | None = None
    source: str = "json"
    topic: str | None = None
    message_id: str | None = None
    late: bool = False

    @property
    def has_position(self) -> bool:
        return self.lat is not None and self.lon is not None

    def with_receipt(self, received_at: datetime, *, late_after: timedelta) -> Reading:
        """Stamp the receive time and mark the reading late if it lags event time."""
        return replace(self, received_at=received_at, late=received_at - self.ts > late_after)


# (field, low, high) inclusive bounds; ``None`` means unbounded on that side.
_BOUNDS: Final[tuple[tuple[str, float | None, float | None], ...]] = (
    ("lat", -90.0, 90.0),
    ("lon", -180.0, 180.0),
    ("alt_m", -1000.0, 100_000.0),
    ("speed_kmh", 0.0, 2000.0),
    ("heading_deg", 0.0, 360.0),
    ("hdop", 0.0, 100.0),
    ("sats", 0.0, 255.0),
    ("engine_hours", 0.0, None),
    ("odometer_km", 0.0, None),
    ("fuel_pct", 0.0, 100.0),
    ("battery_v", 0.0, 1000.0),
)

_FAST_BOUNDS: Final = tuple(
    (
        name,
        -sys.float_info.max if low is None else low,
        sys.float_info.max if high is None else high,
    )
    for name, low, high in _BOUNDS
)

_EPOCH_FLOOR: Final = datetime(2000, 1, 1, tzinfo=UTC)

#: (field, low, high) inclusive, finite: the numeric ranges :func:`check_reading`
#: enforces, for decoders that check them while parsing (ingest's JSON path).
FIELD_BOUNDS: Final = _FAST_BOUNDS
#: No event time before this is storable.
EPOCH_FLOOR: Final = _EPOCH_FLOOR
#: Metric names are 1 to this many characters.
METRIC_NAME_MAX: Final = 64


def check_reading(r: Reading, *, now: datetime, max_future_skew: timedelta) -> None:
    """Raise :class:`ReadingRangeError` naming the first field that cannot be stored.

    Checks non-finite numbers, coordinate and counter ranges, a lone latitude or
    longitude, metric names and values, and an event time too far in the future
    (beyond ``max_future_skew`` of ``now``) or before 2000.
    """
    check_readings((r,), now=now, max_future_skew=max_future_skew)


def check_reading_until(r: Reading, latest: datetime, max_future_skew: timedelta) -> None:
    """:func:`check_reading` with the latest acceptable event time computed by the caller.

    For a caller checking readings one at a time at a high rate (the ingest's
    validate stage): ``latest`` is ``now + max_future_skew``.
    """
    _check(r, latest, max_future_skew)


def check_readings(
    readings: Iterable[Reading], *, now: datetime, max_future_skew: timedelta
) -> None:
    """:func:`check_reading` for a batch (the time limits are computed once)."""
    rs = readings if isinstance(readings, list | tuple) else list(readings)
    latest = now + max_future_skew
    if len(rs) >= _VECTOR_MIN and all_storable(rs, latest, max_future_skew):
        return
    for r in rs:
        _check(r, latest, max_future_skew)


#: Below this batch size the per-reading loop is as fast as the column checks.
_VECTOR_MIN: Final = 32
_get_ts = attrgetter("ts")
_get_seq = attrgetter("seq")
_get_source = attrgetter("source")
_get_metrics = attrgetter("metrics")
_get_alarms = attrgetter("alarms")
_BOUND_GETTERS: Final = tuple((attrgetter(name), low, high) for name, low, high in _FAST_BOUNDS)


def all_storable(readings: Sequence[Reading], latest: datetime, max_future_skew: timedelta) -> bool:
    """True if every reading passes :func:`check_reading`, checked a column at a time.

    The per-reading checks cost microseconds a reading in Python; here each
    numeric field is one numpy array (``None`` becomes NaN) compared with its
    bounds in C. False means "some reading may be bad": the caller then runs
    the exact per-reading check, which finds and names the first bad field, so
    errors are the same as before.
    """
    try:
        tss = list(map(_get_ts, readings))
        # Comparing with an aware floor raises TypeError for a naive time.
        if min(tss) < _EPOCH_FLOOR or max(tss) > latest:
            return False
        absent: list[np.ndarray] = []
        for get, low, high in _BOUND_GETTERS:
            col = list(map(get, readings))
            arr = np.array(col, dtype=np.float64)  # None -> NaN
            outside = ~((arr >= low) & (arr <= high))  # NaN and +-inf are outside
            # Every None is outside; anything else outside is a bad value.
            if outside.any() and int(np.count_nonzero(outside)) != col.count(None):
                return False
            absent.append(outside)
        if not np.array_equal(absent[0], absent[1]):  # lat and lon come together
            return False
        seqs = [s for s in map(_get_seq, readings) if s is not None]
        if seqs and (min(seqs) < 0 or max(seqs) >= 2**63):
            return False
        if not set(map(_get_source, readings)) <= SOURCES:
            return False
    except (TypeError, ValueError, OverflowError):
        return False
    # Metric names/values and alarm names: only readings that carry some, in order.
    n = len(readings)
    some = set(compress(range(n), map(bool, map(_get_metrics, readings))))
    some.update(compress(range(n), map(bool, map(_get_alarms, readings))))
    for i in sorted(some):
        _check(readings[i], latest, max_future_skew)  # the columns above all passed
    return True


def _check(r: Reading, latest: datetime, max_future_skew: timedelta) -> None:
    ts = r.ts
    if ts.tzinfo is None:
        raise ReadingRangeError("ts", ts, "event time must carry a time zone")
    if not _EPOCH_FLOOR <= ts <= latest:
        if ts > latest:
            raise ReadingRangeError(
                "ts", ts.isoformat(), f"in the future by more than {max_future_skew}"
            )
        raise ReadingRangeError("ts", ts.isoformat(), "before 2000-01-01")
    for name, low, high in _FAST_BOUNDS:
        value = getattr(r, name)
        # One chained comparison on the hot path: NaN and +-inf fail it too
        # (the open bounds are the largest finite floats), then say which.
        if value is None or low <= value <= high:
            continue
        fv = float(value)
        if not math.isfinite(fv):
            raise ReadingRangeError(name, value, "not a finite number")
        if fv < low:
            raise ReadingRangeError(name, value, f"below {low:g}")
        raise ReadingRangeError(name, value, f"above {high:g}")
    if (r.lat is None) != (r.lon is None):
        raise ReadingRangeError(
            "lat" if r.lat is None else "lon", None, "lat and lon come together"
        )
    if r.seq is not None and not 0 <= r.seq < 2**63:
        raise ReadingRangeError("seq", r.seq, "must be in 0 .. 2^63-1")
    for key, value in r.metrics.items():
        if not key or len(key) > METRIC_NAME_MAX:
            raise ReadingRangeError("metrics", key, "metric names are 1-64 characters")
        if not math.isfinite(float(value)):
            raise ReadingRangeError(f"metrics.{key}", value, "not a finite number")
    for alarm in r.alarms:
        if alarm not in ALARMS:
            raise ReadingRangeError("alarms", alarm, "unknown alarm name")
    if r.source not in SOURCES:
        raise ReadingRangeError("source", r.source, f"one of {sorted(SOURCES)}")
