"""Operating figures from hourly rollups: coverage and gaps, daily operation, distance,
voyages, sites with dwell times, and the class's own counters and averages.

Days are local days at the asset's declared base (offset = longitude / 15 h,
rounded): good enough to tell a night shift from a day shift without a time-zone
database, and stated in the report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from collateral.geo import haversine_m
from collateral.geojson import zone_base_point
from collateral.provenance.inputs import ProvenanceInputs

R_EARTH: Final = 6_371_008.8
F64 = NDArray[np.float64]


def hav_m(lat1: F64, lon1: F64, lat2: F64, lon2: F64) -> F64:
    """Great-circle distances (m), vectorised; NaN in, NaN out."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    out: F64 = 2 * R_EARTH * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    return out


def r3(x: float | None, nd: int = 3) -> float | None:
    """Round for the report (stable digests); NaN/inf become None."""
    if x is None or not math.isfinite(x):
        return None
    return round(float(x), nd)


@dataclass(frozen=True)
class Timeline:
    """Derived per-hour arrays shared by figures and findings."""

    offset_h: int
    local_day: NDArray[np.int64]
    local_hour: NDArray[np.int64]
    month: NDArray[np.int64]
    weekday: NDArray[np.int64]  # 0 = Monday
    same_dev_next: NDArray[np.bool_]  # row i+1 is the same device as row i
    seg_m: F64  # distance from last fix of row i to first fix of row i+1 (same device)
    seg_s: F64  # seconds between them


def timeline(inp: ProvenanceInputs) -> Timeline:
    h = inp.hourly
    base = zone_base_point(inp.asset.declared)
    lon = (
        base[1]
        if base
        else (
            float(np.nanmedian(h["last_lon"]))
            if len(h) and np.isfinite(h["last_lon"]).any()
            else 0.0
        )
    )
    offset = round(lon / 15.0)
    local = h.bucket + offset * 3600.0
    day = np.floor(local / 86400.0).astype(np.int64)
    hour = (np.floor(local / 3600.0).astype(np.int64)) % 24
    weekday = (day + 3) % 7  # 1970-01-01 was a Thursday
    dt64 = (local * 1e6).astype("datetime64[us]") if len(h) else np.array([], "datetime64[us]")
    month = (
        (dt64.astype("datetime64[M]").astype(np.int64) % 12 + 1)
        if len(h)
        else np.array([], np.int64)
    )
    same = np.zeros(len(h), dtype=bool)
    seg_m = np.full(len(h), np.nan)
    seg_s = np.full(len(h), np.nan)
    if len(h) > 1:
        same[:-1] = h.device[1:] == h.device[:-1]
        seg_m[:-1] = np.where(
            same[:-1],
            hav_m(h["last_lat"][:-1], h["last_lon"][:-1], h["first_lat"][1:], h["first_lon"][1:]),
            np.nan,
        )
        seg_s[:-1] = np.where(same[:-1], h["first_ts"][1:] - h["last_ts"][:-1], np.nan)
    return Timeline(offset, day, hour, np.asarray(month, np.int64), weekday, same, seg_m, seg_s)


def coverage(inp: ProvenanceInputs) -> dict[str, Any]:
    """Readings against each terminal's expected cadence, and where the gaps are."""
    h = inp.hourly
    expected = got = 0.0
    gaps: list[dict[str, Any]] = []
    hours_total = hours_data = 0
    for i, w in enumerate(inp.windows):
        span = (w.end - w.start).total_seconds()
        expected += span / w.expected_interval_s
        mine = h.device == i
        got += float(np.nansum(h["readings"][mine]))
        hours_total += int(span // 3600)
        hours_data += int(np.count_nonzero(h["readings"][mine] > 0))
        threshold = max(3.0 * w.expected_interval_s, 7200.0)
        firsts, lasts = h["first_ts"][mine], h["last_ts"][mine]
        edges_start = np.concatenate([[w.start.timestamp()], lasts])
        edges_end = np.concatenate([firsts, [w.end.timestamp()]])
        lengths = edges_end - edges_start
        for k in np.nonzero(lengths > threshold)[0]:
            gaps.append(
                {
                    "device_id": w.device_id,
                    "start": float(edges_start[k]),
                    "end": float(edges_end[k]),
                    "hours": float(lengths[k]) / 3600.0,
                }
            )
    gaps.sort(key=lambda g: -g["hours"])
    ratio = min(1.0, got / expected) if expected else 0.0
    return {
        "expected_readings": round(expected),
        "readings": round(got),
        "ratio": r3(ratio),
        "hours": hours_total,
        "hours_with_data": hours_data,
        "gap_count": len(gaps),
        "gap_hours_total": r3(sum(g["hours"] for g in gaps), 1),
        "longest_gap_hours": r3(gaps[0]["hours"], 1) if gaps else 0.0,
        "gaps": [{**g, "hours": r3(g["hours"], 1)} for g in gaps[:20]],
    }


def _counter_total(first: F64, last: F64, same_next: NDArray[np.bool_]) -> tuple[float, int]:
    """Increase of a cumulative counter over the rows (resets skipped) and backward steps."""
    seq = np.column_stack([first, last]).ravel()
    steps = np.diff(seq)
    # a step from row i's last to row i+1's first only counts within one device
    between = np.zeros_like(steps, dtype=bool)
    between[1::2] = True
    valid = np.isfinite(steps) & ~(between & ~np.repeat(same_next, 2)[: len(steps)])
    s = steps[valid]
    return float(s[s > 0].sum()), int(np.count_nonzero(s < -0.05))


def operations(inp: ProvenanceInputs, tl: Timeline) -> dict[str, Any]:
    """Active days, operating hours per day, distance, voyages and class figures."""
    h = inp.hourly
    days = round((inp.end - inp.start).total_seconds() / 86400)
    if not len(h):
        empty: dict[str, Any] = {
            "days": days,
            "days_with_data": 0,
            "active_days": 0,
            "utc_offset_hours": tl.offset_h,
            "operating_hours_total": 0.0,
            "moving_hours_total": 0.0,
            "hours_per_active_day": None,
            "hours_per_day_histogram": {},
            "distance_km": 0.0,
            "max_speed_kmh": None,
            "class_figures": {},
        }
        if inp.asset.class_ == "ship":
            empty["voyages"] = None
        return empty
    uday, inv = np.unique(tl.local_day, return_inverse=True)
    op_h = np.bincount(inv, weights=np.nan_to_num(h["operating_minutes"])) / 60.0
    mv_h = np.bincount(inv, weights=np.nan_to_num(h["moving_minutes"])) / 60.0
    # Distance counts only hours with movement: a parked terminal's jitter adds
    # up to kilometres a day and is not operation.
    moving = np.nan_to_num(h["moving_minutes"]) > 0
    dist_in = np.where(moving, np.nan_to_num(h["distance_m"]), 0.0)
    moving_next = np.zeros_like(moving)
    moving_next[:-1] = moving[1:]
    seg = np.where(
        (np.nan_to_num(tl.seg_s, nan=1e9) <= 2 * 3600) & (moving | moving_next),
        np.nan_to_num(tl.seg_m),
        0.0,
    )
    dist_day = np.bincount(inv, weights=dist_in + seg) / 1000.0
    act = np.bincount(inv, weights=np.nan_to_num(h["avg_activity"]))
    active = (op_h >= 0.5) | (mv_h >= 0.25) | (act > 0)
    active_hours = op_h[active]
    q = np.percentile(active_hours, [10, 25, 50, 75, 90]) if active_hours.size else None
    bins = [0, 2, 4, 6, 8, 10, 12, 24.01]
    hist, _ = np.histogram(op_h, bins=bins)
    out: dict[str, Any] = {
        "days": days,
        "days_with_data": len(uday),
        "active_days": int(active.sum()),
        "utc_offset_hours": tl.offset_h,
        "operating_hours_total": r3(float(op_h.sum()), 1),
        "moving_hours_total": r3(float(mv_h.sum()), 1),
        "hours_per_active_day": None
        if q is None
        else {
            k: r3(float(v), 2) for k, v in zip(("p10", "p25", "p50", "p75", "p90"), q, strict=True)
        },
        "hours_per_day_histogram": {
            f"{bins[i]:g}-{min(bins[i + 1], 24):g}": int(hist[i]) for i in range(len(hist))
        },
        "distance_km": r3(float(dist_day.sum()), 1),
        "max_speed_kmh": r3(
            float(np.nanmax(h["max_speed_kmh"])) if np.isfinite(h["max_speed_kmh"]).any() else None,
            1,
        ),
    }
    counters: dict[str, Any] = {}
    for name in ("engine_hours", "energy_kwh", "fuel_used_l", "idle_hours"):
        total, _ = _counter_total(h[f"{name}_first"], h[f"{name}_last"], tl.same_dev_next)
        if np.isfinite(h[f"{name}_last"]).any():
            counters[name] = r3(total, 2)
    for name in ("avg_activity", "avg_power_kw", "avg_load_pct", "avg_body_temp_c"):
        vals, wts = h[name], h["readings"]
        ok = np.isfinite(vals)
        if ok.any():
            counters[name.removeprefix("avg_") + "_mean"] = r3(
                float(np.average(vals[ok], weights=np.maximum(wts[ok], 1))), 3
            )
    if "activity_mean" in counters:
        day_mask = (tl.local_hour >= 6) & (tl.local_hour < 18) & np.isfinite(h["avg_activity"])
        night = ~((tl.local_hour >= 6) & (tl.local_hour < 18)) & np.isfinite(h["avg_activity"])
        if day_mask.any() and night.any():
            counters["activity_day_night_ratio"] = r3(
                float(np.mean(h["avg_activity"][day_mask]))
                / max(float(np.mean(h["avg_activity"][night])), 1e-9),
                2,
            )
    out["class_figures"] = counters
    if inp.asset.class_ == "ship":
        out["voyages"] = voyages(inp)
    out["_daily"] = {"op_h": op_h, "day": uday, "active": active, "dist_km": dist_day}
    return out


def voyages(inp: ProvenanceInputs) -> int | None:
    """Round trips away from the declared base (>10 km out, back within 3 km)."""
    base = zone_base_point(inp.asset.declared)
    h = inp.hourly
    if base is None or not len(h):
        return None
    d = hav_m(np.full(len(h), base[0]), np.full(len(h), base[1]), h["last_lat"], h["last_lon"])
    count, away = 0, False
    for v in d[np.isfinite(d)]:
        if not away and v > 10_000:
            away = True
        elif away and v < 3_000:
            away = False
            count += 1
    return count


def sites(
    inp: ProvenanceInputs, *, radius_m: float = 500.0, limit: int = 15
) -> list[dict[str, Any]]:
    """Places the asset stood (hours with little movement), clustered within ``radius_m``.

    Consecutive still hours at one place are taken as one visit without a search;
    otherwise the nearest known site within ``radius_m`` is reused (greedy).
    """
    h = inp.hourly
    still = (
        (np.nan_to_num(h["moving_minutes"]) < 10)
        & np.isfinite(h["last_lat"])
        & (np.nan_to_num(h["distance_m"]) < radius_m)
    )
    idx = np.nonzero(still)[0]
    base = zone_base_point(inp.asset.declared)
    centres: list[tuple[float, float]] = []
    stats: list[dict[str, Any]] = []
    clat: list[float] = []
    clon: list[float] = []
    prev_site, prev_row = -1, -10
    buckets = h.bucket[idx].tolist()
    for i, lat, lon, bucket in zip(
        idx.tolist(), h["last_lat"][idx].tolist(), h["last_lon"][idx].tolist(), buckets, strict=True
    ):
        site = -1
        if prev_site >= 0 and i == prev_row + 1:
            c = centres[prev_site]
            if haversine_m(c[0], c[1], lat, lon) <= radius_m:
                site = prev_site
        if site < 0 and centres:
            d = hav_m(
                np.asarray(clat), np.asarray(clon), np.full(len(clat), lat), np.full(len(clat), lon)
            )
            k = int(np.argmin(d))
            if d[k] <= radius_m:
                site = k
        if site < 0:
            centres.append((lat, lon))
            clat.append(lat)
            clon.append(lon)
            stats.append({"hours": 0, "visits": 0, "first": bucket, "last": bucket})
            site = len(centres) - 1
        s = stats[site]
        s["hours"] += 1
        if not (site == prev_site and i == prev_row + 1):
            s["visits"] += 1
        s["last"] = bucket
        prev_site, prev_row = site, i
    order = sorted(range(len(stats)), key=lambda k: -stats[k]["hours"])[:limit]
    out = []
    for k in order:
        lat, lon = centres[k]
        in_zone = [z.zone.id for z in inp.zones.zones_of(inp.asset.id) if z.contains(lat, lon)]
        from_base = (
            None
            if base is None
            else r3(
                float(
                    hav_m(
                        np.array([base[0]]), np.array([base[1]]), np.array([lat]), np.array([lon])
                    )[0]
                )
                / 1000.0,
                2,
            )
        )
        out.append(
            {
                "lat": r3(lat, 5),
                "lon": r3(lon, 5),
                "dwell_hours": stats[k]["hours"],
                "visits": stats[k]["visits"],
                "first": float(stats[k]["first"]),
                "last": float(stats[k]["last"]),
                "km_from_base": from_base,
                "in_zones": in_zone,
                "is_base": bool(from_base is not None and from_base <= 1.0),
            }
        )
    return out
