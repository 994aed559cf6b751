"""``decline``: operating intensity falls and stays down against a trailing baseline.

Intensity is a day's energy for terminals that report power (a farm's power
meter is always "operating"), else its operating minutes, or its distance for
assets that never report operation (a grazing herd's collars). The last ``recent_days`` (ten, so
one slow week of a machine with idle spells is not enough) are compared with
the asset's own trailing baseline: it enters when the mean ratio is below
``enter_ratio`` *and* a one-sided Mann-Whitney U test (scipy) says the recent
days are lower with p < ``alpha``; it leaves when the ratio is back above
``leave_ratio`` (hysteresis). Near-zero operation is ``idle``'s business:
below ``idle_ratio`` decline gives no new opinion, and single days below it are
left out of both samples. Means over whole windows
absorb the weekly pattern (both windows hold working days and weekends).

Level by the recent/baseline ratio: watch < 0.7, yellow < 0.45, orange < 0.3.

Example::

    >>> Decline().evaluate(series, ctx, was_active=False)  # Signal or None
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from scipy.stats import mannwhitneyu

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
    levels_ratio: tuple[float, float, float] = (0.7, 0.45, 0.3)


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

    def evaluate(self, s: DailySeries, ctx: DeviceContext, was_active: bool) -> Signal | None:
        p = self.params
        values, measure = self._intensity(s)
        rep = s.readings > 0
        first = values[p.recent_days : p.baseline_to][rep[p.recent_days : p.baseline_to]]
        if first.size < p.min_baseline_days or float(np.mean(first)) <= 0:
            return None
        # Idle days (below idle_ratio of the baseline mean) are idle's business:
        # left out of both samples so an idle spell does not read as a decline.
        keep = rep & (values >= p.idle_ratio * float(np.mean(first)))
        recent = values[: p.recent_days][keep[: p.recent_days]]
        baseline = values[p.recent_days : p.baseline_to][keep[p.recent_days : p.baseline_to]]
        if baseline.size < p.min_baseline_days or recent.size < p.min_recent_days:
            return None
        base_mean = float(np.mean(baseline))
        if base_mean <= 0:
            return None
        ratio = float(np.mean(recent)) / base_mean
        if not was_active and not p.idle_ratio <= ratio < p.enter_ratio:
            return None  # the test is only worth running when the ratio could enter
        pvalue = float(mannwhitneyu(recent, baseline, alternative="less").pvalue)
        if was_active:
            active = ratio < p.leave_ratio
        else:
            active = pvalue < p.alpha
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
                "measure": measure,
                "ratio": round(ratio, 3),
                "mann_whitney_p": pvalue,
                "thresholds": {"enter_ratio": p.enter_ratio, "leave_ratio": p.leave_ratio,
                               "alpha": p.alpha, "recent_days": p.recent_days},
            },
        )  # fmt: skip
