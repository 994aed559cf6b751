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

from collections.abc import Sequence
from dataclasses import dataclass

from alerts.detectors.base import (
    MAX_SPEED_KMH,
    BatchStepped,
    DeviceContext,
    Level,
    Signal,
    farther_than,
    from_epoch,
    good_fix,
    level_by_thresholds,
    reading_evidence,
)
from alerts.detectors.geo import ZoneSet
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


class ZoneExit(BatchStepped[ZoneExitState]):
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

    def step_batch(
        self,
        state: ZoneExitState,
        rs: Sequence[Reading],
        ts: Sequence[float],
        ctx: DeviceContext,
    ) -> tuple[ZoneExitState, list[Signal]]:
        zones = ctx.zones
        if not zones:
            return state, []
        p = self.params
        max_hdop, min_sats, min_buffer_m = p.max_hdop, p.min_sats, p.min_buffer_m
        dwell_s, min_fixes, warmup = p.dwell_s, p.min_fixes, p.warmup_fixes
        vmax = MAX_SPEED_KMH.get(ctx.asset_class, 200.0)
        s = state
        last_ts, good_ts, good_lat, good_lon = s.last_ts, s.good_ts, s.good_lat, s.good_lon
        n_good, rejects = s.n_good, s.rejects
        outside_since, outside_n = s.outside_since, s.outside_n
        inside_since, active, level, max_dist = s.inside_since, s.active, s.level, s.max_dist
        last_emit = s.last_emit
        signals: list[Signal] = []
        outside = ZoneSet(zones).distance_outside
        for r, t in zip(rs, ts, strict=True):
            if not good_fix(r, max_hdop=max_hdop, min_sats=min_sats):
                continue
            lat, lon = r.lat, r.lon
            assert lat is not None
            assert lon is not None
            dist, buffer = outside(lat, lon)
            if buffer < min_buffer_m:
                buffer = min_buffer_m
            if t <= last_ts:
                # Late fix: it may only postpone an exit (an inside fix inside the
                # current outside run means the run began later than we thought).
                if (
                    not active
                    and outside_since is not None
                    and t >= outside_since
                    and dist <= buffer
                ):
                    outside_since, outside_n = last_ts, 1
                continue
            if n_good > 0:
                # Impossible: over 250 m and faster than the class's maximum speed.
                dt = t - good_ts
                limit = 250.0 if dt <= 0 else max(250.0, vmax * dt / 3.6)
                impossible = farther_than(good_lat, good_lon, lat, lon, limit)
                if impossible and rejects + 1 < p.max_rejects:
                    last_ts = t
                    rejects += 1
                    continue
            last_ts = good_ts = t
            good_lat, good_lon = lat, lon
            n_good += 1
            rejects = 0
            if n_good <= warmup:
                continue
            if not active:
                if dist <= buffer:
                    outside_since, outside_n = None, 0
                    continue
                if outside_since is None:
                    outside_since = t
                outside_n += 1
                if t - outside_since < dwell_s or outside_n < min_fixes:
                    continue
                lvl = self._level(dist, t - outside_since)
                active, level, max_dist, last_emit, inside_since = True, int(lvl), dist, t, None
                signals.append(self._signal(r, ctx, True, lvl, dist, outside_since, buffer))
                continue
            # Active: leave only when back inside the zone proper for return_dwell_s.
            since = outside_since
            assert since is not None
            if dist <= 0.0:
                if inside_since is None:
                    inside_since = t
                if t - inside_since >= p.return_dwell_s:
                    signals.append(self._signal(r, ctx, False, Level(level), 0.0, since, buffer))
                    rejects = outside_n = level = 0
                    outside_since = inside_since = None
                    active, max_dist, last_emit = False, 0.0, 0.0
                continue
            if dist > max_dist:
                max_dist = dist
            lvl = max(Level(level), self._level(max_dist, t - since))
            inside_since = None
            if lvl > level or t - last_emit >= p.refresh_s:
                level, last_emit = int(lvl), t
                signals.append(self._signal(r, ctx, True, lvl, dist, since, buffer))
        out = ZoneExitState(
            last_ts, good_ts, good_lat, good_lon, n_good, rejects, outside_since, outside_n,
            inside_since, active, level, max_dist, last_emit,
        )  # fmt: skip
        return out, signals

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
