"""Event-time helpers: RFC 3339 text, local (GMT+8) days and working hours.

All simulated assets operate in China, so their shifts and working days are
reckoned in GMT+8 (the zone JT/T 808 also uses for its BCD timestamps).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Final

LOCAL_OFFSET_S: Final = 8 * 3600
DAY: Final = 86_400.0
HOUR: Final = 3_600.0


def local_day_start(t: float) -> float:
    """Epoch seconds of the local (GMT+8) midnight at or before ``t``."""
    return math.floor((t + LOCAL_OFFSET_S) / DAY) * DAY - LOCAL_OFFSET_S


def local_weekday(t: float) -> int:
    """Monday = 0 ... Sunday = 6, in local time."""
    return int(((t + LOCAL_OFFSET_S) // DAY + 3) % 7)  # 1970-01-01 was a Thursday


def local_hour(t: float) -> float:
    return ((t + LOCAL_OFFSET_S) % DAY) / HOUR


_DATES: dict[int, str] = {}


def rfc3339(t: float) -> str:
    """``2026-11-22T07:13:13.250Z``: UTC with milliseconds (hot path: dates are cached)."""
    ms = round(t * 1000)
    secs, milli = divmod(ms, 1000)
    day, sod = divmod(secs, 86_400)
    date = _DATES.get(day)
    if date is None:
        date = _DATES[day] = datetime.fromtimestamp(day * 86_400, UTC).strftime("%Y-%m-%dT")
    hh, rem = divmod(sod, 3600)
    mm, ss = divmod(rem, 60)
    return f"{date}{hh:02d}:{mm:02d}:{ss:02d}.{milli:03d}Z"


def to_datetime(t: float) -> datetime:
    return datetime.fromtimestamp(round(t * 1000) / 1000, UTC)
