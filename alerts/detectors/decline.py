"""``decline``: operating intensity falls and stays down against a trailing baseline.

Compares the asset's recent expected working days (``recent_days``) with the
same kind of days in a trailing baseline, each day scaled by its weekday's
baseline so the weekly pattern cancels out. It enters when the median ratio is
below ``enter_ratio`` *and* a one-sided Mann-Whitney U test (scipy) says the
recent days are lower with p < ``alpha``; it leaves when the ratio is back
above ``leave_ratio``. Near-zero operation is ``idle``'s business: below
``idle_ratio`` decline gives no new opinion, and days operated below
``idle_ratio`` of their baseline are left out of both samples.

Level by the recent/baseline ratio: watch < 0.6, yellow < 0.45, orange < 0.3.

Example::

    >>> Decline().evaluate(series, ctx, was_active=False)  # Signal or None
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from scipy.stats import mannwhitneyu

from alerts.detectors.base import DeviceContext, Level, Signal
from alerts.detectors.daily import DailySeries, in_season, weekday_baseline

KIND = "decline"


@dataclass(frozen=True, slots=True)
class DeclineParams:
    recent_days: int = 7
    baseline_to: int = 35
    min_baseline_days: int = 8
    min_recent_days: int = 4
    min_expected_min: float = 60.0
    enter_ratio: float = 0.6
    leave_ratio: float = 0.8
    idle_ratio: float = 0.15
    alpha: float = 0.01
    levels_ratio: tuple[float, float, float] = (0.6, 0.45, 0.3)


class Decline:
    """Windowed detector over daily operating minutes."""

    kind = KIND

    def __init__(self, params: DeclineParams = DeclineParams()) -> None:
        self.params = params

    def _scaled(
        self, s: DailySeries, ctx: DeviceContext, base: dict[int, float], first: int, last: int
    ) -> list[float]:
        out: list[float] = []
        for d in range(first, min(last, s.days)):
            expected = base.get(s.weekday(d), 0.0)
            if expected < self.params.min_expected_min or not in_season(s, ctx, d):
                continue
            frac = float(s.operating_min[d]) / expected
            if s.readings[d] <= 0 or frac < self.params.idle_ratio:
                continue  # silent days are offline's business, idle days idle's
            out.append(frac)
        return out

    def evaluate(self, s: DailySeries, ctx: DeviceContext, was_active: bool) -> Signal | None:
        p = self.params
        base = weekday_baseline(s, s.operating_min, p.recent_days, p.baseline_to)
        baseline = self._scaled(s, ctx, base, p.recent_days, p.baseline_to)
        recent = self._scaled(s, ctx, base, 0, p.recent_days)
        if len(baseline) < p.min_baseline_days or len(recent) < p.min_recent_days:
            return None
        ratio = float(np.median(recent)) / max(float(np.median(baseline)), 1e-9)
        if not was_active and not p.idle_ratio <= ratio < p.enter_ratio:
            return None  # the test is only worth running when the ratio could enter
        pvalue = float(mannwhitneyu(recent, baseline, alternative="less").pvalue)
        if was_active:
            active = ratio < p.leave_ratio
        else:
            active = ratio < p.enter_ratio and pvalue < p.alpha and ratio >= p.idle_ratio
            if not active:
                return None
        level = Level.WATCH
        for lvl, bound in zip(
            (Level.WATCH, Level.YELLOW, Level.ORANGE), p.levels_ratio, strict=True
        ):
            if ratio < bound:
                level = lvl
        return Signal(
            kind=KIND,
            device_id=s.device_id,
            asset_id=ctx.asset_id,
            ts=s.now,
            active=active,
            level=level,
            magnitude=ratio,
            since=s.now - timedelta(days=p.recent_days) if active else None,
            evidence={
                "days": s.evidence(p.recent_days),
                "ratio": round(ratio, 3),
                "mann_whitney_p": pvalue,
                "recent_scaled": [round(v, 3) for v in recent],
                "thresholds": {"enter_ratio": p.enter_ratio, "leave_ratio": p.leave_ratio,
                               "alpha": p.alpha, "recent_days": p.recent_days},
            },
        )  # fmt: skip
