"""What every detector shares: levels, signals, per-device context and quality gates.

A detector never decides an alert's lifecycle; it reports *signals*: "the
condition holds at this event time, at this level" (``active=True``) or "it has
ended" (``active=False``). :mod:`alerts.engine` turns signals into alerts.
"""

from __future__ import annotations

import dataclasses
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from types import MappingProxyType
from typing import Any, Final, Generic, TypeVar

from telemetry.model import Reading

EARTH_RADIUS_M: Final = 6_371_008.8
_EMPTY: Mapping[str, Any] = MappingProxyType({})
S = TypeVar("S")


class Level(IntEnum):
    """Alert levels, ordered so that ``max`` gives the more severe one."""

    WATCH = 1
    YELLOW = 2
    ORANGE = 3
    RED = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Level:
        try:
            return cls[text.upper()]
        except KeyError:
            raise ValueError(f"unknown level {text!r}; one of red, orange, yellow, watch") from None

    def up(self, steps: int = 1) -> Level:
        return Level(min(Level.RED, self + steps))


@dataclass(frozen=True, slots=True)
class Signal:
    """A detector's statement about one device (or asset) at one event time.

    ``since`` is when the condition began (evidence, and time-to-detect in the
    evaluation); ``evidence`` holds the readings or rollups that triggered it and
    the thresholds used.
    """

    kind: str
    device_id: str
    ts: datetime
    active: bool
    level: Level = Level.WATCH
    magnitude: float = 0.0
    since: datetime | None = None
    evidence: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    asset_id: str | None = None


@dataclass(frozen=True, slots=True)
class ZoneSpec:
    """A pledged zone: GeoJSON geometry plus the buffer tolerated outside it."""

    zone_id: str
    geometry: Mapping[str, Any]
    buffer_m: float = 200.0


@dataclass(frozen=True, slots=True)
class DeviceContext:
    """What the registry says about the terminal and the asset it watches."""

    device_id: str
    asset_id: str | None = None
    asset_class: str = "vehicle"
    stationary: bool = False
    zones: tuple[ZoneSpec, ...] = ()
    expected_interval_s: int = 60
    satellite: bool = False
    season_months: tuple[int, ...] = ()


#: Highest plausible speed per asset class (km/h): fixes implying more are glitches.
MAX_SPEED_KMH: Final[Mapping[str, float]] = MappingProxyType(
    {"vehicle": 200.0, "equipment": 120.0, "ship": 80.0, "farm": 60.0}
)


def epoch(ts: datetime) -> float:
    """Seconds since the epoch: detector state stores times as plain floats."""
    return ts.timestamp()


def from_epoch(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=UTC)


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


_M_PER_DEG: Final = math.radians(1.0) * EARTH_RADIUS_M


def farther_than(lat1: float, lon1: float, lat2: float, lon2: float, limit_m: float) -> bool:
    """``haversine_m(...) > limit_m``, skipping the trigonometry when plainly not.

    The great circle is no longer than the path along the meridian and then
    along a parallel, which is at most (|dlat| + |dlon|) degrees of a great
    circle; most consecutive fixes are well within that bound of a threshold.
    """
    dlon = abs(lon2 - lon1)
    if dlon > 180.0:
        dlon = 360.0 - dlon
    if (abs(lat2 - lat1) + dlon) * _M_PER_DEG <= limit_m:
        return False
    return haversine_m(lat1, lon1, lat2, lon2) > limit_m


def good_fix(r: Reading, *, max_hdop: float, min_sats: int) -> bool:
    """A fix good enough for zone and movement decisions (position, hdop, satellites)."""
    if r.lat is None or r.lon is None:
        return False
    if r.hdop is not None and r.hdop > max_hdop:
        return False
    return not (r.sats is not None and r.sats < min_sats)


def reading_evidence(r: Reading) -> dict[str, Any]:
    """The fields of a reading worth keeping as evidence (JSON-ready)."""
    out: dict[str, Any] = {"ts": r.ts.isoformat()}
    for name in ("lat", "lon", "hdop", "sats", "speed_kmh", "engine_hours", "odometer_km"):
        value = getattr(r, name)
        if value is not None:
            out[name] = value
    if r.ext_power is not None:
        out["ext_power"] = r.ext_power
    if r.tamper:
        out["tamper"] = True
    if r.alarms:
        out["alarms"] = list(r.alarms)
    return out


def level_by_thresholds(
    value: float, thresholds: tuple[float, float, float, float]
) -> Level | None:
    """The level whose threshold ``value`` reaches: (watch, yellow, orange, red) ascending."""
    level: Level | None = None
    for lvl, bound in zip(Level, thresholds, strict=True):
        if value >= bound:
            level = lvl
    return level


_FIELDS: dict[type, tuple[str, ...]] = {}


def field_names(cls: type) -> tuple[str, ...]:
    """The dataclass's field names, computed once per class."""
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


class BatchStepped(ABC, Generic[S]):
    """A streaming detector stepped a device's batch at a time.

    ``step_batch`` folds a device's readings (in event order, ``ts[i]`` the
    epoch seconds of ``rs[i]``) into a new state without mutating the one
    given; ``step`` is the same over one reading, so the two cannot drift.
    """

    def step(self, state: S, r: Reading, ctx: DeviceContext) -> tuple[S, list[Signal]]:
        return self.step_batch(state, (r,), (epoch(r.ts),), ctx)

    @abstractmethod
    def step_batch(
        self, state: S, rs: Sequence[Reading], ts: Sequence[float], ctx: DeviceContext
    ) -> tuple[S, list[Signal]]: ...
