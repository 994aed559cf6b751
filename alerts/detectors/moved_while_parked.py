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
from collections.abc import Sequence
from dataclasses import dataclass

from alerts.detectors.base import (
    BatchStepped,
    DeviceContext,
    Level,
    Signal,
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


class MovedWhileParked(BatchStepped[MovedWhileParkedState]):
    """Streaming detector for stationary assets."""

    kind = KIND
    state_type = MovedWhileParkedState

    def __init__(self, params: MovedWhileParkedParams = MovedWhileParkedParams()) -> None:
        self.params = params

    def initial(self) -> MovedWhileParkedState:
        return MovedWhileParkedState()

    def step_batch(
        self,
        state: MovedWhileParkedState,
        rs: Sequence[Reading],
        ts: Sequence[float],
        ctx: DeviceContext,
    ) -> tuple[MovedWhileParkedState, list[Signal]]:
        if not ctx.stationary:
            return state, []
        p = self.params
        max_hdop, min_sats, confirm = p.max_hdop, p.min_sats, p.confirm
        size = p.window_slow if ctx.expected_interval_s >= p.slow_interval_s else p.window
        ship = ctx.asset_class == "ship"
        enter_m = p.ship_enter_m if ship else p.enter_m
        leave_m = p.ship_leave_m if ship else p.leave_m
        last_ts, warm, anchor, recent = state.last_ts, state.warm, state.anchor, state.recent
        over_n, under_n, since = state.over_n, state.under_n, state.since
        active, level, last_emit = state.active, state.level, state.last_emit
        signals: list[Signal] = []
        for r, t in zip(rs, ts, strict=True):
            if not good_fix(r, max_hdop=max_hdop, min_sats=min_sats):
                continue
            lat, lon = r.lat, r.lon
            assert lat is not None
            assert lon is not None
            if t <= last_ts:
                continue  # late fixes never move the window (no opinion from them)
            last_ts = t
            fix = (round(lat, 6), round(lon, 6))
            if anchor is None:
                warm = (*warm, fix)
                if len(warm) >= p.warmup_fixes:
                    anchor, warm = _median_point(warm), ()
                continue
            recent = (*recent, fix)[-size:]
            if len(recent) < size:
                continue
            mlat, mlon = _median_point(recent)
            disp = haversine_m(anchor[0], anchor[1], mlat, mlon)
            if not active:
                if disp < enter_m:
                    over_n, since = 0, None
                    continue
                if since is None:
                    since = t
                over_n += 1
                if over_n < confirm:
                    continue
                lvl = level_by_thresholds(disp, p.levels_m) or Level.WATCH
                active, level, last_emit = True, int(lvl), t
                signals.append(self._signal(r, ctx, True, lvl, disp, since, anchor))
                continue
            assert since is not None
            if disp < leave_m:
                under_n += 1
                if under_n >= confirm:
                    signals.append(self._signal(r, ctx, False, Level(level), disp, since, anchor))
                    under_n = over_n = level = 0
                    since, active = None, False
                continue
            lvl = max(Level(level), level_by_thresholds(disp, p.levels_m) or Level.WATCH)
            under_n = 0
            if lvl > level or t - last_emit >= p.refresh_s:
                level, last_emit = int(lvl), t
                signals.append(self._signal(r, ctx, True, lvl, disp, since, anchor))
        out = MovedWhileParkedState(
            last_ts, warm, anchor, recent, over_n, under_n, since, active, level, last_emit
        )
        return out, signals

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
