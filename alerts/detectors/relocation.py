"""``relocation``: the asset's resting place has moved to a new site for days.

A day's resting place is the median position of the hours in which the asset
did not move (hourly rollups with ``moving_minutes`` 0). The home site is the
median resting place over the baseline days. The condition enters when each of
the last ``enter_days`` days rests more than ``enter_km`` from home and within
``site_km`` of the other recent days (one new site, not a trip), and leaves
when the latest resting place is back within ``leave_km`` of home. Both
thresholds grow with the spread of the asset's own baseline resting places
(``spread_factor`` × their 90th-percentile distance from home), so an asset
with no single home — a cargo ship calling at several ports — is not flagged
for resting somewhere new; and an asset whose baseline already holds stays
away of several days (a ship on multi-day voyages) must stay away two days
longer than its longest one.

Level by distance from home: watch > 1.5 km, yellow > 20 km, orange > 100 km,
red > 500 km; one level up after a week away.

Example::

    >>> Relocation().evaluate(series, ctx, was_active=False)  # Signal or None
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from alerts.detectors.base import (
    EARTH_RADIUS_M,
    DeviceContext,
    Level,
    Signal,
    haversine_m,
    level_by_thresholds,
)
from alerts.detectors.daily import DailySeries, F

KIND = "relocation"


@dataclass(frozen=True, slots=True)
class RelocationParams:
    baseline_from: int = 7
    baseline_to: int = 35
    min_baseline_days: int = 7
    enter_days: int = 3
    enter_km: float = 1.5
    leave_km: float = 0.75
    site_km: float = 1.0
    spread_factor: float = 3.0
    long_days: int = 7
    levels_km: tuple[float, float, float, float] = (1.5, 20.0, 100.0, 500.0)


def _km(home: tuple[float, float], lat: F, lon: F) -> F:
    """Great-circle distances in km from ``home`` (vectorised haversine; NaN stays NaN)."""
    p1, p2 = np.radians(home[0]), np.radians(lat)
    dl = np.radians(lon - home[1])
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    out: F = 2 * EARTH_RADIUS_M / 1000 * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return out


class Relocation:
    """Windowed detector over daily resting places."""

    kind = KIND

    def __init__(self, params: RelocationParams = RelocationParams()) -> None:
        self.params = params

    def evaluate(self, s: DailySeries, ctx: DeviceContext, was_active: bool) -> Signal | None:
        p = self.params
        lat_b = s.rest_lat[p.baseline_from : p.baseline_to]
        lon_b = s.rest_lon[p.baseline_from : p.baseline_to]
        ok = ~np.isnan(lat_b)
        if int(ok.sum()) < p.min_baseline_days:
            return None
        home = (float(np.median(lat_b[ok])), float(np.median(lon_b[ok])))
        # An asset with no single home (a cargo ship between ports) rests far
        # from its median anyway: the threshold grows with its own spread.
        dist_b = _km(home, lat_b, lon_b)
        spread = float(np.percentile(dist_b[ok], 90))
        enter_km = max(p.enter_km, p.spread_factor * spread)
        leave_km = max(p.leave_km, p.spread_factor * spread / 2)
        # An asset that already rested away for days in its baseline (a ship on
        # multi-day voyages) needs a longer stay away than its longest one.
        longest = run = 0
        for km_b in dist_b:
            far = bool(km_b > enter_km)  # NaN (no resting place) compares False
            run = run + 1 if far else 0
            longest = max(longest, run)
        need = max(p.enter_days, longest + 2) if longest else p.enter_days
        if need > p.baseline_from:
            return None  # away so often that a stay elsewhere says nothing
        away: list[float] = []
        for d in range(p.baseline_from):
            if np.isnan(s.rest_lat[d]):
                if d < need:
                    continue
                break
            km = haversine_m(home[0], home[1], s.rest_lat[d], s.rest_lon[d]) / 1000.0
            away.append(km)
        recent = [
            (float(s.rest_lat[d]), float(s.rest_lon[d]))
            for d in range(need)
            if not np.isnan(s.rest_lat[d])
        ]
        if not away:
            return None
        latest_km = away[0]
        if was_active:
            active = latest_km > leave_km
        else:
            if len(recent) < need - 1 or len(away) < need - 1:
                return None
            site = (float(np.median([r[0] for r in recent])),
                    float(np.median([r[1] for r in recent])))  # fmt: skip
            compact = all(
                haversine_m(site[0], site[1], a, b) / 1000 <= p.site_km for a, b in recent
            )
            active = compact and all(km > enter_km for km in away[:need])
            if not active:
                return None
        days_away = 0
        for km in away:
            if km <= enter_km:
                break
            days_away += 1
        level = level_by_thresholds(latest_km, p.levels_km) or Level.WATCH
        if days_away >= p.long_days:
            level = level.up()
        return Signal(
            kind=KIND,
            device_id=s.device_id,
            asset_id=ctx.asset_id,
            ts=s.now,
            active=active,
            level=level,
            magnitude=latest_km,
            since=s.now - timedelta(days=max(days_away, 1)) if active else None,
            evidence={
                "home": [round(home[0], 6), round(home[1], 6)],
                "rest_km_from_home": [round(k, 2) for k in away],
                "home_spread_p90_km": round(spread, 3),
                "thresholds": {"enter_km": enter_km, "leave_km": leave_km,
                               "enter_days": need, "site_km": p.site_km,
                               "levels_km": list(p.levels_km)},
            },
        )  # fmt: skip
