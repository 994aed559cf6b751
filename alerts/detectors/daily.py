"""Daily series built from hourly rollups: the input of the windowed detectors.

Day 0 is the 24 hours before ``now``, day 1 the 24 hours before that, and so
on; trailing 24-hour windows (rather than calendar days) let a pass at any hour
see a full day. Missing days are zeros (no readings), NaN for positions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from alerts.detectors.base import DeviceContext

F = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class DailySeries:
    """One device's recent days, most recent first (index 0)."""

    device_id: str
    now: datetime
    readings: F
    operating_min: F
    moving_min: F
    distance_m: F
    rest_lat: F
    rest_lon: F
    last_ts: datetime | None
    #: Sum of hourly mean power (≈ kWh per day); NaN when the device reports no power.
    energy_kwh: F | None = None

    @property
    def days(self) -> int:
        return int(self.readings.shape[0])

    def weekday(self, day: int) -> int:
        """Weekday (Monday 0) of the middle of day window ``day``."""
        return _calendar(self.now, self.days)[0][day]

    def month(self, day: int) -> int:
        return _calendar(self.now, self.days)[1][day]

    def evidence(self, upto: int) -> dict[str, list[float | None]]:
        """The first ``upto`` days as JSON-ready lists (evidence of an alert)."""

        def clean(a: F) -> list[float | None]:
            return [None if np.isnan(v) else round(float(v), 5) for v in a[:upto]]

        return {
            "readings": clean(self.readings),
            "operating_min": clean(self.operating_min),
            "distance_m": clean(self.distance_m),
        }


@lru_cache(maxsize=64)
def _calendar(now: datetime, days: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    # Every device of a pass shares ``now``: compute weekdays and months once.
    mids = [now - timedelta(hours=24 * d + 12) for d in range(days)]
    return tuple(m.weekday() for m in mids), tuple(m.month for m in mids)


def empty_series(device_id: str, now: datetime, days: int) -> DailySeries:
    """A series with no data (every day zero / NaN)."""
    z = np.zeros(days)
    nan = np.full(days, np.nan)
    return DailySeries(
        device_id,
        now,
        z,
        z.copy(),
        z.copy(),
        z.copy(),
        nan,
        nan.copy(),
        None,
        np.full(days, np.nan),
    )


def in_season(series: DailySeries, ctx: DeviceContext, day: int) -> bool:
    """Whether the declared season (if any) covers day ``day``."""
    return not ctx.season_months or series.month(day) in ctx.season_months


def weekday_baseline(series: DailySeries, values: F, first: int, last: int) -> dict[int, float]:
    """Median of ``values`` per weekday over days ``first..last-1`` that reported at all."""
    by_day: dict[int, list[float]] = {}
    for d in range(first, min(last, series.days)):
        if series.readings[d] > 0:
            by_day.setdefault(series.weekday(d), []).append(float(values[d]))
    return {wd: float(np.median(v)) for wd, v in by_day.items()}
