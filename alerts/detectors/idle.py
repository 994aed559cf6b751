"""``idle``: the asset has not operated for days, against its own weekly pattern and season.

The baseline is the asset's own median operating minutes per weekday over days
``baseline_from..baseline_to`` (skipping days it did not report). A day is
*expected* to be worked when that weekday's baseline is at least
``min_expected_min`` and the declared season covers it; days not expected
neither count nor break a run. An expected day is idle when the asset reported
(a silent terminal is ``offline``, not idle) but operated less than
``enter_frac`` of its baseline. The condition enters after enough idle
expected days in a row (most recent first): ``enter_days``, more for an asset
that often rests on expected days in its own baseline (the run must be
unlikely by chance, ``alpha``; at most ``max_enter_days``) and, once open, leaves only
when the latest expected day reaches ``leave_frac`` of baseline (hysteresis).
The robust spread (scipy MAD) is kept as evidence.

Level by idle expected days: watch 2, yellow 4, orange 7, red 14.

Example::

    >>> Idle().evaluate(series, ctx, was_active=False)  # Signal or None
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from scipy.stats import median_abs_deviation

from alerts.detectors.base import DeviceContext, Level, Signal, level_by_thresholds
from alerts.detectors.daily import DailySeries, in_season, weekday_baseline

KIND = "idle"


@dataclass(frozen=True, slots=True)
class IdleParams:
    baseline_from: int = 2
    baseline_to: int = 35
    min_baseline_days: int = 7
    min_expected_min: float = 60.0
    enter_frac: float = 0.1
    leave_frac: float = 0.5
    enter_days: int = 2
    max_enter_days: int = 6
    alpha: float = 0.01
    levels_days: tuple[float, float, float, float] = (2, 4, 7, 14)


class Idle:
    """Windowed detector over daily operating minutes."""

    kind = KIND

    def __init__(self, params: IdleParams = IdleParams()) -> None:
        self.params = params

    def _run(
        self, s: DailySeries, ctx: DeviceContext, base: dict[int, float]
    ) -> tuple[int, float | None, int]:
        """(idle expected days in a row, latest expected day's fraction, days spanned)."""
        p = self.params
        run = 0
        span = 0
        latest: float | None = None
        for d in range(s.days):
            expected = base.get(s.weekday(d), 0.0)
            if expected < p.min_expected_min or not in_season(s, ctx, d):
                continue
            if s.readings[d] <= 0:
                break  # a silent day is offline's business; the run cannot be judged past it
            frac = float(s.operating_min[d]) / expected
            if latest is None:
                latest = frac
            if frac >= p.enter_frac:
                break
            run += 1
            span = d + 1
        return run, latest, span

    def _required_run(
        self, s: DailySeries, ctx: DeviceContext, base: dict[int, float], first: int
    ) -> int:
        """Idle days in a row needed: more for assets that often rest on working days.

        With ``q`` the share of the baseline's expected days that were idle, a
        run of ``n`` such days by chance has probability about ``q ** n``; the
        run must make that smaller than ``alpha`` (a cargo ship that waits in
        port a third of its days needs 5, a truck that always works 2), and be
        two days longer than the longest idle stretch in the baseline.
        """
        p = self.params
        idle = total = longest = run = 0
        for d in range(first, min(p.baseline_to, s.days)):
            expected = base.get(s.weekday(d), 0.0)
            if expected < p.min_expected_min or not in_season(s, ctx, d) or s.readings[d] <= 0:
                continue
            total += 1
            was_idle = float(s.operating_min[d]) / expected < p.enter_frac
            idle += int(was_idle)
            run = run + 1 if was_idle else 0
            longest = max(longest, run)
        q = (idle + 0.5) / (total + 1.0)  # Jeffreys-style smoothing: never exactly 0 or 1
        if q >= 0.5:
            return p.max_enter_days
        need = math.ceil(math.log(p.alpha) / math.log(q))
        # ... and longer than the longest idle stretch the baseline already holds
        need = max(need, longest + 2) if longest else need
        return int(min(max(need, p.enter_days), p.max_enter_days))

    def evaluate(self, s: DailySeries, ctx: DeviceContext, was_active: bool) -> Signal | None:
        p = self.params
        # The baseline leaves out the current idle run (found with a first guess
        # that leaves out only the last ``baseline_from`` days).
        first = p.baseline_from
        base: dict[int, float] = {}
        run, latest_frac = 0, None
        for _ in range(2):
            reported = int(np.count_nonzero(s.readings[first : p.baseline_to] > 0))
            if reported < p.min_baseline_days:
                return None  # warm-up: no opinion
            base = weekday_baseline(s, s.operating_min, first, p.baseline_to)
            run, latest_frac, span = self._run(s, ctx, base)
            if span + 1 <= first:
                break
            first = span + 1
        if latest_frac is None:
            return None
        need = self._required_run(s, ctx, base, first)
        active = run >= need
        if was_active and not active and latest_frac < p.leave_frac:
            active = True
            run = max(run, 1)
        if not active and not was_active:
            return None
        ops = s.operating_min[first : p.baseline_to]
        level = level_by_thresholds(run, p.levels_days) or Level.WATCH
        return Signal(
            kind=KIND,
            device_id=s.device_id,
            asset_id=ctx.asset_id,
            ts=s.now,
            active=active,
            level=level,
            magnitude=float(run),
            since=s.now - timedelta(days=run) if active else None,
            evidence={
                "days": s.evidence(max(run, 1) + 1),
                "weekday_baseline_min": {str(k): round(v, 1) for k, v in sorted(base.items())},
                "baseline_mad_min": round(float(median_abs_deviation(ops)), 1),
                "idle_expected_days": run,
                "thresholds": {"enter_frac": p.enter_frac, "leave_frac": p.leave_frac,
                               "enter_days": p.enter_days,
                               "min_expected_min": p.min_expected_min,
                               "levels_days": list(p.levels_days)},
            },
        )  # fmt: skip
