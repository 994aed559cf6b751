"""``moved_while_parked``: an asset that should stand still was displaced.

Applies to assets the registry marks ``stationary`` (stored equipment, a
laid-up ship). The anchor is the median of the first good fixes; movement is
the displacement of the median of the last few good fixes from that anchor —
displacement over a window, never instantaneous speed, so GPS drift and a ship
swinging at anchor stay quiet. It enters above ``enter_m`` confirmed on
``confirm`` consecutive windows and leaves below ``leave_m`` (hysteresis).
A ship at anchor swings on its chain around the anchor (chain plus hull length,
several hundred metres), so ships use ``ship_enter_m`` / ``ship_leave_m``.

Level by displacement: watch > 500 m (ships 1 km), yellow > 2 km, orange > 10 km, red > 50 km.

Example::

    >>> det = MovedWhileParked()
    >>> state, signals = det.step(det.initial(), reading, DeviceContext("T1", stationary=True))
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from alerts.detectors.base import (
    DeviceContext,
    Level,
    Signal,
    epoch,
    evolve,
    from_epoch,
    good_fix,
    haversine_m,
    level_by_thresholds,
    reading_evidence,
)
from telemetry.model import Reading

KIND = "moved_while_parked"


@dataclass(frozen=True, slots=True)
class MovedWhileParkedParams:
    """Thresholds in metres; the window is shorter for rarely reporting terminals."""

    enter_m: float = 500.0
    leave_m: float = 250.0
    ship_enter_m: float = 1_000.0
    ship_leave_m: float = 500.0
    warmup_fixes: int = 5
    window: int = 5
    window_slow: int = 3
    slow_interval_s: int = 3600
    confirm: int = 2
    max_hdop: float = 5.0
    min_sats: int = 4
    refresh_s: float = 6 * 3600.0
    levels_m: tuple[float, float, float, float] = (500.0, 2_000.0, 10_000.0, 50_000.0)


@dataclass(frozen=True, slots=True)
class MovedWhileParkedState:
    last_ts: float = 0.0
    warm: tuple[tuple[float, float], ...] = ()
    anchor: tuple[float, float] | None = None
    recent: tuple[tuple[float, float], ...] = ()
    over_n: int = 0
    under_n: int = 0
    since: float | None = None
    active: bool = False
    level: int = 0
    last_emit: float = 0.0


def _median_point(points: tuple[tuple[float, float], ...]) -> tuple[float, float]:
    return (statistics.median(p[0] for p in points), statistics.median(p[1] for p in points))


class MovedWhileParked:
    """Streaming detector for stationary assets."""

    kind = KIND
    state_type = MovedWhileParkedState

    def __init__(self, params: MovedWhileParkedParams = MovedWhileParkedParams()) -> None:
        self.params = params

    def initial(self) -> MovedWhileParkedState:
        return MovedWhileParkedState()

    def step(
        self, state: MovedWhileParkedState, r: Reading, ctx: DeviceContext
    ) -> tuple[MovedWhileParkedState, list[Signal]]:
        p = self.params
        if not ctx.stationary or not good_fix(r, max_hdop=p.max_hdop, min_sats=p.min_sats):
            return state, []
        assert r.lat is not None
        assert r.lon is not None
        t = epoch(r.ts)
        if t <= state.last_ts:
            return state, []  # late fixes never move the window (no opinion from them)
        fix = (round(r.lat, 6), round(r.lon, 6))
        if state.anchor is None:
            warm = (*state.warm, fix)
            if len(warm) < p.warmup_fixes:
                return evolve(state, last_ts=t, warm=warm), []
            return evolve(state, last_ts=t, warm=(), anchor=_median_point(warm)), []
        size = p.window_slow if ctx.expected_interval_s >= p.slow_interval_s else p.window
        recent = (*state.recent, fix)[-size:]
        state = evolve(state, last_ts=t, recent=recent)
        if len(recent) < size:
            return state, []
        anchor = state.anchor
        assert anchor is not None
        mlat, mlon = _median_point(recent)
        disp = haversine_m(anchor[0], anchor[1], mlat, mlon)
        ship = ctx.asset_class == "ship"
        enter_m = p.ship_enter_m if ship else p.enter_m
        leave_m = p.ship_leave_m if ship else p.leave_m
        if not state.active:
            if disp < enter_m:
                return evolve(state, over_n=0, since=None), []
            start = state.since if state.since is not None else t
            n = state.over_n + 1
            if n < p.confirm:
                return evolve(state, over_n=n, since=start), []
            level = level_by_thresholds(disp, p.levels_m) or Level.WATCH
            state = evolve(state, over_n=n, since=start, active=True, level=int(level), last_emit=t)
            return state, [self._signal(r, ctx, True, level, disp, start, anchor)]
        since = state.since
        assert since is not None
        if disp < leave_m:
            n = state.under_n + 1
            if n >= p.confirm:
                sig = self._signal(r, ctx, False, Level(state.level), disp, since, anchor)
                return evolve(state, under_n=0, over_n=0, since=None, active=False, level=0), [sig]
            return evolve(state, under_n=n), []
        level = max(Level(state.level), level_by_thresholds(disp, p.levels_m) or Level.WATCH)
        state = evolve(state, under_n=0)
        if level > state.level or t - state.last_emit >= p.refresh_s:
            state = evolve(state, level=int(level), last_emit=t)
            return state, [self._signal(r, ctx, True, level, disp, since, anchor)]
        return state, []

    def _signal(
        self,
        r: Reading,
        ctx: DeviceContext,
        active: bool,
        level: Level,
        disp: float,
        since: float,
        anchor: tuple[float, float],
    ) -> Signal:
        p = self.params
        ship = ctx.asset_class == "ship"
        return Signal(
            kind=KIND,
            device_id=r.device_id,
            asset_id=ctx.asset_id,
            ts=r.ts,
            active=active,
            level=level,
            magnitude=disp,
            since=from_epoch(since),
            evidence={
                "reading": reading_evidence(r),
                "anchor": list(anchor),
                "displacement_m": round(disp, 1),
                "thresholds": {"enter_m": p.ship_enter_m if ship else p.enter_m,
                               "leave_m": p.ship_leave_m if ship else p.leave_m,
                               "levels_m": list(p.levels_m)},
            },
        )  # fmt: skip
