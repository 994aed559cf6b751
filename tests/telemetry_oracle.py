"""Brute-force Python versions of the hourly rollups, to check the SQL against.

Written from the definitions in docs/telemetry.md, independently of the SQL:
group readings by (device, UTC hour), sort each group, walk it.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from telemetry.batch import dedup_key
from telemetry.geo import haversine_m
from telemetry.model import Reading


def _moving(r: Reading) -> bool:
    return r.speed_kmh is not None and r.speed_kmh >= 3.0


def _operating(r: Reading) -> bool:
    for v in (r.engine_on, r.ignition):
        if v is not None:
            return v
    p = r.metrics.get("power_kw")
    return p is not None and p > 0


def _minutes(rows: list[Reading], flag: Any) -> float:
    total = 0.0
    lastgap = 0.0
    for prev, cur in itertools.pairwise(rows):
        gap = (cur.ts - prev.ts).total_seconds()
        if flag(prev):
            total += min(gap, 600.0)
        if gap > 0:
            lastgap = gap
    if rows and flag(rows[-1]):
        total += min(lastgap if lastgap > 0 else 60.0, 600.0)
    return min(total, 3600.0) / 60.0


def _avg(values: Iterable[float | None]) -> float | None:
    v = [x for x in values if x is not None]
    return sum(v) / len(v) if v else None


def _edge(rows: list[Reading], get: Any, last: bool, width: int = 1) -> tuple[float | None, ...]:
    keyed = [(r.ts.timestamp(), *vals) for r in rows if (vals := get(r)) is not None]
    if not keyed:
        return (None,) * width
    pick = max(keyed) if last else min(keyed)
    return tuple(pick[1:])


def distinct(readings: Iterable[Reading]) -> list[Reading]:
    """What the store keeps: one reading per (device, ts, dedup key), first wins."""
    seen: dict[tuple[str, datetime, int], Reading] = {}
    for r in readings:
        seen.setdefault((r.device_id, r.ts, dedup_key(r)), r)
    return list(seen.values())


def hourly_rows(readings: Iterable[Reading]) -> list[tuple[Any, ...]]:
    """Rows in the column order of the ``hourly_rows`` query, ordered by device, bucket."""
    groups: dict[tuple[str, datetime], list[Reading]] = defaultdict(list)
    for r in distinct(readings):
        t = r.ts.astimezone(UTC)
        groups[(r.device_id, t.replace(minute=0, second=0, microsecond=0))].append(r)
    out = []
    for (dev, bucket), rows in sorted(groups.items()):
        rows.sort(
            key=lambda r: (
                r.ts,
                _moving(r),
                _operating(r),
                r.lat is None,
                r.lat or 0.0,
                r.lon is None,
                r.lon or 0.0,
            )
        )
        dist = 0.0
        prev: Reading | None = None
        for r in rows:
            if r.lat is None or r.lon is None:
                continue
            if prev is not None:
                assert prev.lat is not None
                assert prev.lon is not None
                dist += haversine_m(prev.lat, prev.lon, r.lat, r.lon)
            prev = r
        speeds = [r.speed_kmh for r in rows if r.speed_kmh is not None]

        def pos(r: Reading) -> tuple[float | None, float | None] | None:
            return (r.lat, r.lon) if r.lat is not None and r.lon is not None else None

        def counter(name: str) -> Any:
            def get(x: Reading) -> tuple[float | None] | None:
                v = x.engine_hours if name == "engine_hours" else x.metrics.get(name)
                return (v,) if v is not None else None

            return get

        row: list[Any] = [
            dev,
            bucket,
            len(rows),
            _minutes(rows, _moving),
            _minutes(rows, _operating),
            dist,
            max(speeds) if speeds else None,
            min(r.ts for r in rows),
            max(r.ts for r in rows),
            *_edge(rows, pos, False, 2),
            *_edge(rows, pos, True, 2),
            *_edge(rows, counter("engine_hours"), False),
            *_edge(rows, counter("engine_hours"), True),
            _avg(r.metrics.get("activity") for r in rows),
            _avg(r.metrics.get("power_kw") for r in rows),
        ]
        for name in ("energy_kwh", "fuel_used_l", "idle_hours"):
            row += [*_edge(rows, counter(name), False), *_edge(rows, counter(name), True)]
        row += [
            _avg(r.metrics.get("load_pct") for r in rows),
            _avg(r.metrics.get("body_temp_c") for r in rows),
            _avg(r.metrics.get("silo_level_pct") for r in rows),
            min((r.battery_v for r in rows if r.battery_v is not None), default=None),
        ]
        out.append(tuple(row))
    return out


def close(a: object, b: object) -> bool:
    """Equality with float tolerance (SQL sums in a different order)."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)
    return a == b
