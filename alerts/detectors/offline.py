"""``offline``: the terminal stopped reporting for longer than its expected cadence.

The silence threshold is ``max(factor × expected_interval_s, floor_s)`` of the
terminal (``terminals.expected_interval_s``), so a 12-hourly satellite
reporter is judged on days, a 30-second tracker on the hour. Silence is
measured from the newest event time stored for the device to ``now``; the
condition ends as soon as a reading arrives.

Level by silence / threshold: watch ≥ 1, yellow ≥ 3, orange ≥ 12, red ≥ 48.

Example::

    >>> Offline().evaluate(series, DeviceContext("T1", expected_interval_s=43200), False)
"""

from __future__ import annotations

from dataclasses import dataclass

from alerts.detectors.base import DeviceContext, Level, Signal, level_by_thresholds
from alerts.detectors.daily import DailySeries

KIND = "offline"


@dataclass(frozen=True, slots=True)
class OfflineParams:
    factor: float = 3.0
    satellite_factor: float = 2.5
    floor_s: float = 3600.0
    levels_ratio: tuple[float, float, float, float] = (1.0, 3.0, 12.0, 48.0)


class Offline:
    """Windowed detector of silent terminals."""

    kind = KIND

    def __init__(self, params: OfflineParams = OfflineParams()) -> None:
        self.params = params

    def threshold_s(self, ctx: DeviceContext) -> float:
        p = self.params
        factor = p.satellite_factor if ctx.satellite else p.factor
        return max(factor * max(ctx.expected_interval_s, 1), p.floor_s)

    def evaluate(self, s: DailySeries, ctx: DeviceContext, was_active: bool) -> Signal | None:
        if s.last_ts is None:
            return None  # never reported: nothing to judge (provisioning, not an outage)
        silence = (s.now - s.last_ts).total_seconds()
        threshold = self.threshold_s(ctx)
        active = silence >= threshold
        if not active and not was_active:
            return None
        level = level_by_thresholds(silence / threshold, self.params.levels_ratio) or Level.WATCH
        return Signal(
            kind=KIND,
            device_id=s.device_id,
            asset_id=ctx.asset_id,
            ts=s.now,
            active=active,
            level=level,
            magnitude=silence,
            since=s.last_ts,
            evidence={
                "last_reading": s.last_ts.isoformat(),
                "silence_s": round(silence),
                "thresholds": {"expected_interval_s": ctx.expected_interval_s,
                               "threshold_s": threshold,
                               "levels_ratio": list(self.params.levels_ratio)},
            },
        )  # fmt: skip
