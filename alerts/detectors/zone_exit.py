"""``zone_exit``: the asset is outside its pledged zone beyond a buffer for longer than a dwell.

Only good fixes count (hdop, satellites, and no implied speed above the
class's maximum), so GPS drift at a parked asset never leaves the zone. The
exit threshold is the zone's buffer; the return threshold is stricter (back
inside the zone proper for ``return_dwell_s``), so the state does not flap on
the edge. Late fixes (older than the newest seen) can only delay or end an
exit, never start one.

Level = the higher of distance and duration outside:

==========  ===========  ===========
level       distance     duration
==========  ===========  ===========
watch       > buffer     > dwell
yellow      > 2 km       > 6 h
orange      > 20 km      > 24 h
red         > 100 km     > 72 h
==========  ===========  ===========

Example::

    >>> det = ZoneExit()
    >>> state = det.initial()
    >>> state, signals = det.step(state, reading, ctx)  # ctx.zones holds the pledged zone
"""

from __future__ import annotations

from dataclasses import dataclass

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
    level_by_thresholds,
    reading_evidence,
)
from alerts.detectors.geo import distance_outside
from telemetry.model import Reading

KIND = "zone_exit"


@dataclass(frozen=True, slots=True)
class ZoneExitParams:
    """Thresholds; the buffer itself comes from each zone (never below ``min_buffer_m``)."""

    dwell_s: float = 900.0
    min_fixes: int = 2
    return_dwell_s: float = 600.0
    min_buffer_m: float = 100.0
    max_hdop: float = 5.0
    min_sats: int = 4
    warmup_fixes: int = 3
    refresh_s: float = 6 * 3600.0
    distance_levels_m: tuple[float, float, float, float] = (0.0, 2_000.0, 20_000.0, 100_000.0)
    duration_levels_s: tuple[float, float, float, float] = (0.0, 6 * 3600.0, 86400.0, 3 * 86400.0)
    max_rejects: int = 3


@dataclass(frozen=True, slots=True)
class ZoneExitState:
    """Per-device state; times are epoch seconds."""

    last_ts: float = 0.0
    good_ts: float = 0.0
    good_lat: float = 0.0
    good_lon: float = 0.0
    n_good: int = 0
    rejects: int = 0
    outside_since: float | None = None
    outside_n: int = 0
    inside_since: float | None = None
    active: bool = False
    level: int = 0
    max_dist: float = 0.0
    last_emit: float = 0.0


class ZoneExit:
    """Streaming detector: per device, in event time."""

    kind = KIND
    state_type = ZoneExitState

    def __init__(self, params: ZoneExitParams = ZoneExitParams()) -> None:
        self.params = params

    def initial(self) -> ZoneExitState:
        return ZoneExitState()

    def _level(self, dist: float, duration: float) -> Level:
        p = self.params
        a = level_by_thresholds(dist, p.distance_levels_m) or Level.WATCH
        b = level_by_thresholds(duration, p.duration_levels_s) or Level.WATCH
        return max(a, b)

    def step(
        self, state: ZoneExitState, r: Reading, ctx: DeviceContext
    ) -> tuple[ZoneExitState, list[Signal]]:
        p = self.params
        if not ctx.zones or not good_fix(r, max_hdop=p.max_hdop, min_sats=p.min_sats):
            return state, []
        assert r.lat is not None
        assert r.lon is not None
        t = epoch(r.ts)
        dist, buffer = distance_outside(ctx.zones, r.lat, r.lon)
        buffer = max(buffer, p.min_buffer_m)
        if t <= state.last_ts:
            # Late fix: it may only postpone an exit (an inside fix inside the
            # current outside run means the run began later than we thought).
            if (
                not state.active
                and state.outside_since is not None
                and t >= state.outside_since
                and dist <= buffer
            ):
                return evolve(state, outside_since=state.last_ts, outside_n=1), []
            return state, []
        if state.n_good > 0:
            dt = t - state.good_ts
            jump = haversine_m(state.good_lat, state.good_lon, r.lat, r.lon)
            vmax = MAX_SPEED_KMH.get(ctx.asset_class, 200.0)
            impossible = jump > 250.0 and (dt <= 0 or jump / dt * 3.6 > vmax)
            if impossible and state.rejects + 1 < p.max_rejects:
                return evolve(state, last_ts=t, rejects=state.rejects + 1), []
        state = evolve(
            state, last_ts=t, good_ts=t, good_lat=r.lat, good_lon=r.lon,
            n_good=state.n_good + 1, rejects=0,
        )  # fmt: skip
        if state.n_good <= p.warmup_fixes:
            return state, []
        if not state.active:
            if dist <= buffer:
                return evolve(state, outside_since=None, outside_n=0), []
            start = state.outside_since if state.outside_since is not None else t
            n = state.outside_n + 1
            state = evolve(state, outside_since=start, outside_n=n)
            if t - start < p.dwell_s or n < p.min_fixes:
                return state, []
            level = self._level(dist, t - start)
            state = evolve(
                state, active=True, level=int(level), max_dist=dist, last_emit=t,
                inside_since=None,
            )  # fmt: skip
            return state, [self._signal(r, ctx, True, level, dist, start, buffer)]
        # Active: leave only when back inside the zone proper for return_dwell_s.
        since = state.outside_since
        assert since is not None
        if dist <= 0.0:
            inside = state.inside_since if state.inside_since is not None else t
            if t - inside >= p.return_dwell_s:
                sig = self._signal(r, ctx, False, Level(state.level), 0.0, since, buffer)
                return ZoneExitState(
                    last_ts=t, good_ts=t, good_lat=r.lat, good_lon=r.lon, n_good=state.n_good
                ), [sig]
            return evolve(state, inside_since=inside), []
        max_dist = max(state.max_dist, dist)
        level = max(Level(state.level), self._level(max_dist, t - since))
        state = evolve(state, inside_since=None, max_dist=max_dist)
        if level > state.level or t - state.last_emit >= p.refresh_s:
            state = evolve(state, level=int(level), last_emit=t)
            return state, [self._signal(r, ctx, True, level, dist, since, buffer)]
        return state, []

    def _signal(
        self,
        r: Reading,
        ctx: DeviceContext,
        active: bool,
        level: Level,
        dist: float,
        since: float,
        buffer: float,
    ) -> Signal:
        p = self.params
        return Signal(
            kind=KIND,
            device_id=r.device_id,
            asset_id=ctx.asset_id,
            ts=r.ts,
            active=active,
            level=level,
            magnitude=dist,
            since=from_epoch(since),
            evidence={
                "reading": reading_evidence(r),
                "distance_outside_m": round(dist, 1),
                "zones": [z.zone_id for z in ctx.zones],
                "thresholds": {
                    "buffer_m": buffer,
                    "dwell_s": p.dwell_s,
                    "return_dwell_s": p.return_dwell_s,
                    "max_hdop": p.max_hdop,
                    "distance_levels_m": list(p.distance_levels_m),
                    "duration_levels_s": list(p.duration_levels_s),
                },
            },
        )
