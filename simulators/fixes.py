"""The values a terminal produces: a :class:`Fix`, and the :class:`Truth` behind it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Fix:
    """What a terminal reports at one tick; ``t`` is the device's own clock (epoch s)."""

    t: float
    seq: int
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
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Truth:
    """Where the asset really was at the last tick (for tests and noise checks)."""

    t: float
    lat: float
    lon: float
    moving: bool
