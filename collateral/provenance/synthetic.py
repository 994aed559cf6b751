"""A small deterministic history generator for provenance tests and the benchmark.

Not a fleet simulator (that is ``simulators/``): one terminal on one asset, a
daily routine (parked at base at night, a loop around the base on working days)
with metre-level jitter, and scripted incidents -- a silent gap, a teleport, a
frozen position while the engine runs, a replayed day, tamper alarms. Built
with numpy; 180 days of one-minute data (~260,000 readings) take a few seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from telemetry.model import Reading

DEG_M = 111_195.0


@dataclass(frozen=True)
class Incidents:
    """Which incidents to script (day numbers from the start)."""

    gap_days: tuple[int, int] | None = None  # silent from day a to day b
    teleport_day: int | None = None  # one hour 400 km away at noon
    frozen_day: int | None = None  # position frozen 09:00-17:00 while running
    replay: tuple[int, int] | None = None  # day b repeats day a exactly
    tamper_day: int | None = None  # case opened + power lost at noon


@dataclass(frozen=True)
class History:
    device_id: str
    start: datetime
    days: int
    interval_s: int = 60
    base: tuple[float, float] = (31.2, 121.4)
    utc_offset_h: int = 8
    working_days: tuple[int, ...] = (0, 1, 2, 3, 4, 5)
    shift: tuple[int, int] = (8, 17)
    loop_km: float = 5.0
    seed: int = 7
    incidents: Incidents = field(default_factory=Incidents)


def generate(h: History) -> list[Reading]:
    """The readings of the history, in time order."""
    rng = np.random.default_rng(h.seed)
    n = h.days * 86400 // h.interval_s
    t = np.arange(n, dtype=np.float64) * h.interval_s
    local = t + h.utc_offset_h * 3600 + h.start.timestamp()
    day_idx = (t // 86400).astype(np.int64)
    hour = (local % 86400) / 3600.0
    weekday = ((local // 86400).astype(np.int64) + 3) % 7
    on = np.isin(weekday, h.working_days) & (hour >= h.shift[0]) & (hour < h.shift[1])
    # a loop of loop_km radius around the base, one lap per hour while on shift
    ang = 2 * math.pi * (hour - h.shift[0])
    r_m = np.where(on, h.loop_km * 1000.0, 0.0)
    cos_lat = math.cos(math.radians(h.base[0]))
    jitter = rng.normal(0.0, 3.0, size=(2, n))
    lat = h.base[0] + (r_m * np.sin(ang) + jitter[0]) / DEG_M
    lon = h.base[1] + (r_m * (1 - np.cos(ang)) + jitter[1]) / (DEG_M * cos_lat)
    speed = np.where(on, 2 * math.pi * h.loop_km + rng.normal(0, 1.0, n), 0.0).clip(0)
    engine_hours = 1000.0 + np.cumsum(on * h.interval_s / 3600.0)
    fuel_used = 50.0 + np.cumsum(on * h.interval_s / 3600.0 * 12.0)
    keep = np.ones(n, dtype=bool)
    inc = h.incidents
    tamper = np.zeros(n, dtype=bool)
    if inc.frozen_day is not None:
        sel = (day_idx == inc.frozen_day) & (hour >= 9) & (hour < 17)
        first = np.argmax(sel)
        lat[sel], lon[sel], speed[sel] = lat[first], lon[first], 0.0
        on[sel] = True
    if inc.teleport_day is not None:
        sel = (day_idx == inc.teleport_day) & (hour >= 12) & (hour < 13)
        lat[sel] += 400_000.0 / DEG_M
    if inc.replay is not None:
        a, b = inc.replay
        src, dst = day_idx == a, day_idx == b
        for arr in (lat, lon, speed):
            arr[dst] = arr[src]
        on[dst] = on[src]
    if inc.tamper_day is not None:
        tamper[(day_idx == inc.tamper_day) & (hour >= 12) & (hour < 12.5)] = True
    if inc.gap_days is not None:
        keep &= ~((day_idx >= inc.gap_days[0]) & (day_idx < inc.gap_days[1]))
    idx = np.nonzero(keep)[0]
    cols = [
        a[idx].tolist()
        for a in (t, lat, lon, speed, on, np.round(engine_hours, 4), tamper, np.round(fuel_used, 3))
    ]
    start = h.start
    dev = h.device_id
    alarms = ("case_opened", "main_power_lost")
    return [
        Reading(
            device_id=dev,
            ts=start + timedelta(seconds=ts),
            seq=seq,
            lat=la,
            lon=lo,
            speed_kmh=sp,
            hdop=0.9,
            sats=11,
            ignition=o,
            engine_on=o,
            engine_hours=eh,
            battery_v=11.1 if tp else 12.6,
            ext_power=not tp,
            tamper=True if tp else None,
            alarms=alarms if tp else (),
            metrics={"fuel_used_l": fu},
        )
        for seq, ts, la, lo, sp, o, eh, tp, fu in zip(idx.tolist(), *cols, strict=True)
    ]


def day_start(h: History, day: int) -> datetime:
    """UTC start of the history's day ``day`` (UTC days)."""
    return (h.start + timedelta(days=day)).astimezone(UTC)
