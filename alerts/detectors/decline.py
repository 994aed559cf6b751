"""``decline``: operating intensity falls and stays down against a trailing baseline.

Intensity is a day's energy for terminals that report power (a farm's power
meter is always "operating"), else its operating minutes, or its distance for
assets that never report operation (a grazing herd's collars). The last
``recent_days`` (ten, so one slow week of a machine with idle spells is not
enough) are compared with the asset's own trailing baseline (days
``recent_days..baseline_to`` that reported). A *stop* is a day below
``idle_ratio`` of the baseline mean. Two comparisons; either can enter:

- **Operating days** (every asset): stops are ``idle``'s business and are left
  out of both samples, so an idle spell does not read as a decline. It enters
  when the mean ratio of the operating days (``ratio_operating``) is in
  [``idle_ratio``, ``enter_ratio``) over at least ``min_recent_days`` recent
  operating days *and* a one-sided Mann-Whitney U test (scipy) says the recent
  operating days are lower with p < ``alpha``.
- **Whole windows, stops included** (bursty assets: a ship's operation comes
  in voyages with port stays between, and its decline is fewer voyages, not
  shorter ones, so the few operating days left look normal and may be too few
  for the first comparison). Only for a zero-inflated baseline: at least
  ``min_baseline_stops`` stops in it (stops are part of the asset's pattern;
  one can be chance or a partial first day). It enters when the ratio of the
  window means including stops (``ratio_all``) is in [``idle_ratio``,
  ``enter_ratio``) over at least ``min_recent_days`` reported recent days, it
  stays down to the present (the newest ``recent_days // 2`` days also below
  ``enter_ratio`` of the baseline mean: a stop spell followed by normal
  operation again is not a decline), *and* a one-sided permutation test on the
  difference of the window means (scipy ``permutation_test``,
  ``n_resamples`` with a fixed seed, so a pass is reproducible) gives
  p < ``alpha``. Days of one voyage are not independent, which makes a
  day-level permutation test optimistic: hence the same strict ``alpha``.

Once open it leaves only when every applicable comparison's ratio is back at
or above ``leave_ratio`` (hysteresis): a ship still mostly in port, with normal
voyages in between, stays in decline. Below ``idle_ratio`` decline gives no
new opinion (near-zero operation is ``idle``'s). Means over whole windows
absorb the weekly pattern (both windows hold working days and weekends).

Level by the deciding ratio (``ratio``, the ``magnitude``): watch < 0.7,
yellow < 0.45, orange < 0.3. Evidence: the measure, the comparison and test
that decided with its p-value, both ratios, the halves of the recent window,
the operating days counted, and every threshold used.

Example::

    >>> Decline().evaluate(series, ctx, was_active=False)  # Signal or None
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
from scipy.stats import mannwhitneyu, permutation_test

from alerts.detectors.base import DeviceContext, Level, Signal
from alerts.detectors.daily import DailySeries, F

KIND = "decline"


@dataclass(frozen=True, slots=True)
class DeclineParams:
    recent_days: int = 10
    baseline_to: int = 35
    min_baseline_days: int = 10
    min_recent_days: int = 5
    min_operating_min: float = 30.0
    enter_ratio: float = 0.7
    leave_ratio: float = 0.8
    idle_ratio: float = 0.15
    alpha: float = 0.001
    #: stops in the baseline that make it zero-inflated (whole-window comparison)
    min_baseline_stops: int = 2
    #: resamples of the permutation test (whole-window comparison); p >= 1/(n+1)
    n_resamples: int = 9999
    levels_ratio: tuple[float, float, float] = (0.7, 0.45, 0.3)


def _mean_diff(x: F, y: F, axis: int = -1) -> Any:
    return np.mean(x, axis=axis) - np.mean(y, axis=axis)


class Decline:
    """Windowed detector over daily intensity."""

    kind = KIND

    def __init__(self, params: DeclineParams = DeclineParams()) -> None:
        self.params = params

    def _intensity(self, s: DailySeries) -> tuple[F, str]:
        p = self.params
        reporting = s.readings[p.recent_days : p.baseline_to] > 0
        if s.energy_kwh is not None:
            energy = s.energy_kwh[p.recent_days : p.baseline_to][reporting]
            if energy.size and not np.isnan(energy).any() and float(np.median(energy)) > 0:
                # a power meter: always "operating", its intensity is the energy
                return np.nan_to_num(s.energy_kwh), "energy_kwh"
        ops = s.operating_min[p.recent_days : p.baseline_to][reporting]
        if ops.size and float(np.median(ops)) >= p.min_operating_min:
            return s.operating_min, "operating_min"
        return s.distance_m, "distance_m"

    def _pvalue(self, whole: bool, recent: F, baseline: F, recent_all: F, base_all: F) -> float:
        """One-sided p that the recent window is lower (the comparison's own test)."""
        if not whole:
            return float(mannwhitneyu(recent, baseline, alternative="less").pvalue)
        res = permutation_test(
            (recent_all, base_all), _mean_diff, permutation_type="independent",
            alternative="less", n_resamples=self.params.n_resamples, vectorized=True,
            random_state=0,
        )  # fmt: skip
        return float(res.pvalue)

    def evaluate(self, s: DailySeries, ctx: DeviceContext, was_active: bool) -> Signal | None:
        p = self.params
        values, measure = self._intensity(s)
        rep = s.readings > 0
        first = values[p.recent_days : p.baseline_to][rep[p.recent_days : p.baseline_to]]
        if first.size < p.min_baseline_days or float(np.mean(first)) <= 0:
            return None
        stop_below = p.idle_ratio * float(np.mean(first))
        # Stops (below idle_ratio of the baseline mean) are idle's business in
        # the operating-day comparison: left out of both samples.
        keep = rep & (values >= stop_below)
        recent = values[: p.recent_days][keep[: p.recent_days]]
        baseline = values[p.recent_days : p.baseline_to][keep[p.recent_days : p.baseline_to]]
        if baseline.size < p.min_baseline_days:
            return None
        base_mean = float(np.mean(baseline))
        if base_mean <= 0:
            return None
        # Whole windows, stops included: for a zero-inflated baseline (stops
        # recur in it; one can be chance or a partial first day) the stops are
        # part of the asset's pattern, and fewer voyages is the decline.
        recent_all = values[: p.recent_days][rep[: p.recent_days]]
        base_all_mean = float(np.mean(first))
        bursty = first.size - baseline.size >= p.min_baseline_stops
        ratio_all = float(np.mean(recent_all)) / base_all_mean if recent_all.size else 1.0
        ops_ok = recent.size >= p.min_recent_days
        whole_ok = bursty and recent_all.size >= p.min_recent_days
        if not ops_ok and not whole_ok:
            return None
        ratio_op = float(np.mean(recent)) / base_mean if recent.size else 0.0
        half = p.recent_days // 2
        halves = []
        for lo, hi in ((0, half), (half, p.recent_days)):
            part = values[lo:hi][rep[lo:hi]]
            halves.append(float(np.mean(part)) / base_all_mean if part.size else 1.0)
        if was_active:
            # held while any applicable comparison is still below leave_ratio
            whole = whole_ok and (not ops_ok or ratio_all < ratio_op)
            ratio = ratio_all if whole else ratio_op
            pvalue = self._pvalue(whole, recent, baseline, recent_all, first)
            active = ratio < p.leave_ratio
        else:
            # the tests are only worth running when the ratio could enter
            whole = False
            pvalue = 1.0
            if ops_ok and p.idle_ratio <= ratio_op < p.enter_ratio:
                pvalue = self._pvalue(False, recent, baseline, recent_all, first)
            if (
                pvalue >= p.alpha
                and whole_ok
                and p.idle_ratio <= ratio_all < p.enter_ratio
                and halves[0] < p.enter_ratio  # down to the present, not a stop spell then normal
            ):
                whole = True
                pvalue = self._pvalue(True, recent, baseline, recent_all, first)
            if pvalue >= p.alpha:
                return None
            active = True
            ratio = ratio_all if whole else ratio_op
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
                "measure": measure,
                "comparison": "whole_windows" if whole else "operating_days",
                "ratio": round(ratio, 3),
                "ratio_operating": round(ratio_op, 3),
                "ratio_all": round(ratio_all, 3),
                "zero_inflated": bursty,
                "halves": [round(h, 3) for h in halves],
                "operating_days": {"recent": int(recent.size), "baseline": int(baseline.size),
                                   "baseline_reported": int(first.size)},
                "test": "permutation_mean" if whole else "mann_whitney",
                "p": pvalue,
                "thresholds": {"enter_ratio": p.enter_ratio, "leave_ratio": p.leave_ratio,
                               "idle_ratio": p.idle_ratio, "alpha": p.alpha,
                               "recent_days": p.recent_days,
                               "min_recent_days": p.min_recent_days,
                               "min_baseline_stops": p.min_baseline_stops,
                               "n_resamples": p.n_resamples},
            },
        )  # fmt: skip
