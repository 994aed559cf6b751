"""``spoofing``: impossible movement, frozen position, counters backwards, future timestamps.

Anomalies, each robust on its own:

- ``teleport``: a jump faster than the class's maximum speed (and over
  ``min_jump_m``) that the *next* good fix confirms by staying near the new
  place; an out-and-back single outlier is a GPS glitch and is ignored;
- ``frozen_position``: the exact same coordinates repeated ``frozen_n`` times
  while the odometer advances ``frozen_odo_km`` or engine hours advance (mobile
  assets only — a stationary generator legitimately runs in place);
- ``counter_backwards``: engine hours or odometer lower than before, in event order;
- ``future_ts``: event time ahead of the receive time by more than ``future_s``.

The condition holds while anomalies keep coming and ends ``clear_s`` of event
time after the last one. Level: future_ts → watch, frozen_position → yellow,
teleport / counter_backwards → orange; two different anomalies → red.

Example::

    >>> det = Spoofing()
    >>> state, signals = det.step(det.initial(), reading, DeviceContext("T1"))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from alerts.detectors.base import (
    MAX_SPEED_KMH,
    BatchStepped,
    DeviceContext,
    Level,
    Signal,
    farther_than,
    from_epoch,
    good_fix,
    haversine_m,
    reading_evidence,
)
from telemetry.model import Reading

KIND = "spoofing"

_SEVERITY: Final = {
    "future_ts": Level.WATCH,
    "frozen_position": Level.YELLOW,
    "teleport": Level.ORANGE,
    "counter_backwards": Level.ORANGE,
}


@dataclass(frozen=True, slots=True)
class SpoofingParams:
    min_jump_m: float = 5_000.0
    frozen_n: int = 6
    frozen_odo_km: float = 2.0
    frozen_engine_h: float = 1.0
    engine_back_h: float = 0.05
    odo_back_km: float = 0.5
    future_s: float = 120.0
    clear_s: float = 12 * 3600.0
    refresh_s: float = 6 * 3600.0
    max_hdop: float = 5.0
    min_sats: int = 4


@dataclass(frozen=True, slots=True)
class SpoofingState:
    last_ts: float = 0.0
    eh: float | None = None
    odo: float | None = None
    fix: tuple[float, float] | None = None
    fix_ts: float = 0.0
    jump: tuple[float, float, float] | None = None  # lat, lon, ts of an unconfirmed jump
    frozen_n: int = 0
    frozen_odo: float | None = None
    frozen_eh: float | None = None
    active: bool = False
    since: float | None = None
    last_anomaly: float = 0.0
    level: int = 0
    last_emit: float = 0.0
    seen: tuple[str, ...] = ()


class Spoofing(BatchStepped[SpoofingState]):
    """Streaming detector of physically impossible or manipulated telemetry."""

    kind = KIND
    state_type = SpoofingState

    def __init__(self, params: SpoofingParams = SpoofingParams()) -> None:
        self.params = params

    def initial(self) -> SpoofingState:
        return SpoofingState()

    def step_batch(
        self,
        state: SpoofingState,
        rs: Sequence[Reading],
        ts: Sequence[float],
        ctx: DeviceContext,
    ) -> tuple[SpoofingState, list[Signal]]:
        p = self.params
        future_s, max_hdop, min_sats = p.future_s, p.max_hdop, p.min_sats
        engine_back_h, odo_back_km, min_jump_m = p.engine_back_h, p.odo_back_km, p.min_jump_m
        clear_s, refresh_s = p.clear_s, p.refresh_s
        vmax = MAX_SPEED_KMH.get(ctx.asset_class, 200.0)
        stationary = ctx.stationary
        s = state
        last_ts, eh, odo, fix, fix_ts, jump = s.last_ts, s.eh, s.odo, s.fix, s.fix_ts, s.jump
        frozen_n, frozen_odo, frozen_eh = s.frozen_n, s.frozen_odo, s.frozen_eh
        active, since, last_anomaly, level = s.active, s.since, s.last_anomaly, s.level
        last_emit, seen = s.last_emit, s.seen
        signals: list[Signal] = []
        for r, t in zip(rs, ts, strict=True):
            recv = r.received_at
            future = recv is not None and (r.ts - recv).total_seconds() > future_s
            found: list[str] = []
            if t <= last_ts:
                # Late frames carry no order information for counters or jumps;
                # only the receive-time check is order-free.
                if not future:
                    continue
                found.append("future_ts")
            else:
                last_ts = t
                if future:
                    found.append("future_ts")
                r_eh, r_odo = r.engine_hours, r.odometer_km
                if r_eh is not None:
                    if eh is not None and r_eh < eh - engine_back_h:
                        found.append("counter_backwards")
                    eh = r_eh
                if r_odo is not None:
                    if (
                        odo is not None
                        and r_odo < odo - odo_back_km
                        and ("counter_backwards" not in found)
                    ):
                        found.append("counter_backwards")
                    odo = r_odo
                lat, lon = r.lat, r.lon
                if good_fix(r, max_hdop=max_hdop, min_sats=min_sats):
                    assert lat is not None
                    assert lon is not None
                    here = (lat, lon)
                    if fix is None:
                        fix, fix_ts, frozen_odo, frozen_eh = here, t, r_odo, r_eh
                    else:
                        if jump is not None:
                            to_jump = haversine_m(jump[0], jump[1], lat, lon)
                            to_origin = haversine_m(fix[0], fix[1], lat, lon)
                            if to_jump < to_origin:
                                found.append("teleport")
                                fix, fix_ts = (jump[0], jump[1]), jump[2]
                            jump = None
                        # A jump: over min_jump_m and faster than the class's maximum.
                        dt = t - fix_ts
                        limit = min_jump_m if dt <= 0 else max(min_jump_m, vmax * dt / 3.6)
                        if farther_than(fix[0], fix[1], lat, lon, limit):
                            jump = (lat, lon, t)
                        elif here == fix:
                            frozen_n += 1
                            fix_ts = t
                            odo_moved = (
                                r_odo is not None and frozen_odo is not None
                                and r_odo - frozen_odo >= p.frozen_odo_km
                            )  # fmt: skip
                            eh_moved = (
                                not stationary and r_eh is not None and frozen_eh is not None
                                and r_eh - frozen_eh >= p.frozen_engine_h
                            )  # fmt: skip
                            if frozen_n >= p.frozen_n and (odo_moved or eh_moved):
                                found.append("frozen_position")
                        else:
                            fix, fix_ts, frozen_n, frozen_odo, frozen_eh = here, t, 0, r_odo, r_eh
            if found:
                if not set(found) <= set(seen):
                    seen = tuple(sorted(set(seen) | set(found)))
                if since is None:
                    since = t
                lvl = max((_SEVERITY[a] for a in seen), default=Level.WATCH)
                if len(seen) >= 2:
                    lvl = Level.RED
                lvl = max(lvl, Level(max(level, 1)))
                last_anomaly = max(t, last_anomaly)
                if not active or lvl > level or t - last_emit >= refresh_s:
                    active, level, last_emit = True, int(lvl), t
                    signals.append(self._signal(r, ctx, True, lvl, since, seen))
                continue
            if active and t - last_anomaly >= clear_s:
                assert since is not None
                signals.append(self._signal(r, ctx, False, Level(level), since, seen))
                active, since, level, seen = False, None, 0, ()
            elif not active and since is not None and t - last_anomaly >= clear_s:
                since, seen = None, ()
        out = SpoofingState(
            last_ts, eh, odo, fix, fix_ts, jump, frozen_n, frozen_odo, frozen_eh,
            active, since, last_anomaly, level, last_emit, seen,
        )  # fmt: skip
        return out, signals

    def _signal(
        self,
        r: Reading,
        ctx: DeviceContext,
        active: bool,
        level: Level,
        since: float,
        seen: tuple[str, ...],
    ) -> Signal:
        p = self.params
        return Signal(
            kind=KIND,
            device_id=r.device_id,
            asset_id=ctx.asset_id,
            ts=r.ts,
            active=active,
            level=level,
            magnitude=float(len(seen)),
            since=from_epoch(since),
            evidence={
                "reading": reading_evidence(r),
                "anomalies": list(seen),
                "thresholds": {
                    "max_speed_kmh": MAX_SPEED_KMH.get(ctx.asset_class, 200.0),
                    "min_jump_m": p.min_jump_m,
                    "frozen_n": p.frozen_n,
                    "future_s": p.future_s,
                    "clear_s": p.clear_s,
                },
            },
        )
