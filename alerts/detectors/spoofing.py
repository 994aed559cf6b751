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

from dataclasses import dataclass
from typing import Final

from alerts.detectors.base import (
    MAX_SPEED_KMH,
    DeviceContext,
    Level,
    Signal,
    epoch,
    evolve,
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


class Spoofing:
    """Streaming detector of physically impossible or manipulated telemetry."""

    kind = KIND
    state_type = SpoofingState

    def __init__(self, params: SpoofingParams = SpoofingParams()) -> None:
        self.params = params

    def initial(self) -> SpoofingState:
        return SpoofingState()

    def _anomalies(
        self, s: SpoofingState, r: Reading, ctx: DeviceContext, t: float
    ) -> tuple[SpoofingState, list[str]]:
        p = self.params
        found: list[str] = []
        if r.received_at is not None and (r.ts - r.received_at).total_seconds() > p.future_s:
            found.append("future_ts")
        if r.engine_hours is not None:
            if s.eh is not None and r.engine_hours < s.eh - p.engine_back_h:
                found.append("counter_backwards")
            s = evolve(s, eh=r.engine_hours)
        if r.odometer_km is not None:
            backwards = s.odo is not None and r.odometer_km < s.odo - p.odo_back_km
            if backwards and "counter_backwards" not in found:
                found.append("counter_backwards")
            s = evolve(s, odo=r.odometer_km)
        if not good_fix(r, max_hdop=p.max_hdop, min_sats=p.min_sats):
            return s, found
        assert r.lat is not None
        assert r.lon is not None
        here = (r.lat, r.lon)
        if s.fix is None:
            return evolve(s, fix=here, fix_ts=t, frozen_odo=r.odometer_km,
                           frozen_eh=r.engine_hours), found  # fmt: skip
        vmax = MAX_SPEED_KMH.get(ctx.asset_class, 200.0)
        if s.jump is not None:
            origin = s.fix
            to_jump = haversine_m(s.jump[0], s.jump[1], r.lat, r.lon)
            to_origin = haversine_m(origin[0], origin[1], r.lat, r.lon)
            if to_jump < to_origin:
                found.append("teleport")
                s = evolve(s, fix=(s.jump[0], s.jump[1]), fix_ts=s.jump[2])
            s = evolve(s, jump=None)
        last = s.fix
        assert last is not None
        d = haversine_m(last[0], last[1], r.lat, r.lon)
        dt = t - s.fix_ts
        if d > p.min_jump_m and (dt <= 0 or d / dt * 3.6 > vmax):
            return evolve(s, jump=(r.lat, r.lon, t)), found
        if here == s.fix:
            s = evolve(s, frozen_n=s.frozen_n + 1, fix_ts=t)
            odo_moved = (
                r.odometer_km is not None and s.frozen_odo is not None
                and r.odometer_km - s.frozen_odo >= p.frozen_odo_km
            )  # fmt: skip
            eh_moved = (
                not ctx.stationary and r.engine_hours is not None and s.frozen_eh is not None
                and r.engine_hours - s.frozen_eh >= p.frozen_engine_h
            )  # fmt: skip
            if s.frozen_n >= p.frozen_n and (odo_moved or eh_moved):
                found.append("frozen_position")
            return s, found
        return evolve(s, fix=here, fix_ts=t, frozen_n=0, frozen_odo=r.odometer_km,
                       frozen_eh=r.engine_hours), found  # fmt: skip

    def step(
        self, state: SpoofingState, r: Reading, ctx: DeviceContext
    ) -> tuple[SpoofingState, list[Signal]]:
        p = self.params
        t = epoch(r.ts)
        if t <= state.last_ts:
            # Late frames carry no order information for counters or jumps; only
            # the receive-time check is order-free.
            late_future = (
                r.received_at is not None and (r.ts - r.received_at).total_seconds() > p.future_s
            )
            if not late_future:
                return state, []
            found = ["future_ts"]
            s = state
        else:
            s, found = self._anomalies(evolve(state, last_ts=t), r, ctx, t)
        if found:
            seen = tuple(sorted(set(s.seen) | set(found)))
            since = s.since if s.since is not None else t
            level = max((_SEVERITY[a] for a in seen), default=Level.WATCH)
            if len(seen) >= 2:
                level = Level.RED
            level = max(level, Level(max(s.level, 1)))
            s = evolve(s, since=since, last_anomaly=max(t, s.last_anomaly), seen=seen)
            if not s.active or level > s.level or t - s.last_emit >= p.refresh_s:
                s = evolve(s, active=True, level=int(level), last_emit=t)
                return s, [self._signal(r, ctx, True, level, since, seen)]
            return s, []
        if s.active and t - s.last_anomaly >= p.clear_s:
            assert s.since is not None
            sig = self._signal(r, ctx, False, Level(s.level), s.since, s.seen)
            return evolve(s, active=False, since=None, level=0, seen=()), [sig]
        if not s.active and s.since is not None and t - s.last_anomaly >= p.clear_s:
            s = evolve(s, since=None, seen=())
        return s, []

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
