"""Authenticity findings, consistency with the declared operations, and the verdict.

Findings come from the hourly rollups: gaps, position jumps no vehicle of the
class could make, positions frozen to the last digit while the engine runs,
whole days repeated hour by hour (replay), metrics flat-lined for a day or
more, counters running backwards; plus tamper and alarm readings and the
alerts the detectors raised for the asset.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime
from typing import Any, Final

import numpy as np

from collateral.geojson import zone_base_point
from collateral.provenance.figures import F64, Timeline, _counter_total, hav_m, r3
from collateral.provenance.inputs import ProvenanceInputs

#: Fastest plausible movement per class (km/h), for jump detection.
MAX_SPEED_KMH: Final = {"vehicle": 160.0, "ship": 70.0, "farm": 40.0, "equipment": 90.0}
FROZEN_MIN_HOURS: Final = 6
FLAT_MIN_HOURS: Final = 24
SEVERE_ALERT_KINDS: Final = frozenset({"spoofing", "fabrication", "double_pledge", "tamper"})


def iso(epoch: float | datetime) -> str:
    t = epoch if isinstance(epoch, datetime) else datetime.fromtimestamp(epoch, UTC)
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _runs(mask: np.ndarray[Any, Any]) -> list[tuple[int, int]]:
    """(start, length) of runs of True."""
    if not mask.any():
        return []
    m = np.concatenate([[False], mask, [False]]).astype(np.int8)
    d = np.diff(m)
    starts, ends = np.nonzero(d == 1)[0], np.nonzero(d == -1)[0]
    return [(int(s), int(e - s)) for s, e in zip(starts, ends, strict=True)]


def authenticity(inp: ProvenanceInputs, tl: Timeline, cov: dict[str, Any]) -> list[dict[str, Any]]:
    """Every finding with kind, severity (``review`` or ``fail``), when and the figures."""
    h = inp.hourly
    out: list[dict[str, Any]] = []
    for w in inp.windows:
        long_gap_h = max(72.0, 6 * w.expected_interval_s / 3600.0)
        for g in cov["gaps"]:
            if g["device_id"] == w.device_id and (g["hours"] or 0) >= long_gap_h:
                out.append(
                    {
                        "kind": "gap",
                        "severity": "review",
                        "start": iso(g["start"]),
                        "end": iso(g["end"]),
                        "detail": f"terminal {w.device_id} silent for {g['hours']} h "
                        f"(expected every {w.expected_interval_s} s)",
                    }
                )
    if not len(h):
        return out
    vmax = MAX_SPEED_KMH.get(inp.asset.class_, 160.0)
    # jumps between hours (last fix -> next first fix) and inside hours (reported speed)
    with np.errstate(invalid="ignore", divide="ignore"):
        implied = tl.seg_m / np.maximum(tl.seg_s, 1.0) * 3.6
    jump = tl.same_dev_next & (implied > vmax) & (np.nan_to_num(tl.seg_m) > 1000)
    too_fast = np.nan_to_num(h["max_speed_kmh"]) > vmax
    for i in np.nonzero(jump)[0][:10]:
        out.append(
            {
                "kind": "jump",
                "severity": "review",
                "start": iso(h["last_ts"][i]),
                "end": iso(h["first_ts"][i + 1]),
                "detail": f"{tl.seg_m[i] / 1000:.1f} km in {tl.seg_s[i]:.0f} s "
                f"({implied[i]:.0f} km/h, class limit {vmax:.0f})",
            }
        )
    if int(jump.sum()) > 10:
        out.append(
            {
                "kind": "jump",
                "severity": "review",
                "start": None,
                "end": None,
                "detail": f"{int(jump.sum()) - 10} more position jumps",
            }
        )
    if too_fast.any():
        i = int(np.nonzero(too_fast)[0][0])
        out.append(
            {
                "kind": "impossible_speed",
                "severity": "review",
                "start": iso(h.bucket[i]),
                "end": None,
                "detail": f"speed up to {np.nanmax(h['max_speed_kmh']):.0f} km/h reported in "
                f"{int(too_fast.sum())} hour(s) (class limit {vmax:.0f})",
            }
        )
    # frozen: bit-identical position across hours while the engine runs
    frozen = np.zeros(len(h), dtype=bool)
    if len(h) > 1:
        same_pos = (
            (h["first_lat"][1:] == h["last_lat"][:-1])
            & (h["first_lon"][1:] == h["last_lon"][:-1])
            & (h["first_lat"][1:] == h["last_lat"][1:])
            & (h["first_lon"][1:] == h["last_lon"][1:])
        )
        running = np.nan_to_num(h["operating_minutes"][1:]) >= 30
        frozen[1:] = same_pos & running & tl.same_dev_next[:-1]
    for s, n in _runs(frozen):
        if n >= FROZEN_MIN_HOURS:
            out.append(
                {
                    "kind": "frozen_position",
                    "severity": "fail",
                    "start": iso(h.bucket[s]),
                    "end": iso(h.bucket[s + n - 1] + 3600),
                    "detail": f"position identical to the last digit for {n} h while "
                    "the engine ran",
                }
            )
    out += _replays(inp, tl)
    out += _flat(inp)
    _, back = _counter_total(h["engine_hours_first"], h["engine_hours_last"], tl.same_dev_next)
    if back:
        out.append(
            {
                "kind": "counter_backwards",
                "severity": "review",
                "start": None,
                "end": None,
                "detail": f"engine-hours counter ran backwards {back} time(s)",
            }
        )
    if inp.flagged:
        kinds: Counter[str] = Counter()
        for _, tamper, alarms in inp.flagged:
            if tamper:
                kinds["tamper"] += 1
            kinds.update(alarms)
        out.append(
            {
                "kind": "tamper_events",
                "severity": "review",
                "start": iso(inp.flagged[0][0]),
                "end": iso(inp.flagged[-1][0]),
                "detail": "readings flagged: "
                + ", ".join(f"{k} x{v}" for k, v in sorted(kinds.items())),
            }
        )
    for a in inp.alerts or ():
        sev = (
            "fail"
            if a["kind"] in SEVERE_ALERT_KINDS and a["status"] != "resolved" and a["level"] == "red"
            else "review"
        )
        if a["status"] == "resolved" and a.get("outcome") in ("false_alarm", "explained"):
            sev = "info"
        out.append(
            {
                "kind": f"alert_{a['kind']}",
                "severity": sev,
                "start": iso(a["first_seen"]),
                "end": iso(a["last_seen"]),
                "detail": f"{a['level']} {a['kind']} alert #{a['id']} {a['status']}"
                + (f" ({a['outcome']})" if a.get("outcome") else ""),
            }
        )
    return out


def _replays(inp: ProvenanceInputs, tl: Timeline) -> list[dict[str, Any]]:
    """Days whose hour-by-hour positions and counts repeat another day exactly."""
    h = inp.hourly
    sig: dict[int, list[tuple[Any, ...]]] = {}
    sel = np.nonzero(np.isfinite(h["first_lat"]) & (np.nan_to_num(h["moving_minutes"]) >= 1))[0]
    cols = zip(
        tl.local_day[sel].tolist(),
        tl.local_hour[sel].tolist(),
        np.round(h["first_lat"][sel], 5).tolist(),
        np.round(h["first_lon"][sel], 5).tolist(),
        h["readings"][sel].astype(np.int64).tolist(),
        strict=True,
    )
    for day, hour, lat, lon, n in cols:
        sig.setdefault(day, []).append((hour, lat, lon, n))
    seen: dict[tuple[Any, ...], int] = {}
    out = []
    for day, items in sorted(sig.items()):
        if len(items) < 4:
            continue
        key = tuple(items)
        if key in seen:
            out.append(
                {
                    "kind": "replay",
                    "severity": "fail",
                    "start": iso(day * 86400.0 - tl.offset_h * 3600),
                    "end": None,
                    "detail": f"day {iso(day * 86400.0)[:10]} repeats day "
                    f"{iso(seen[key] * 86400.0)[:10]} hour by hour ({len(items)} moving hours)",
                }
            )
        else:
            seen[key] = day
    return out[:10]


def _flat(inp: ProvenanceInputs) -> list[dict[str, Any]]:
    h = inp.hourly
    out = []
    for name in ("avg_activity", "avg_power_kw", "avg_load_pct", "avg_body_temp_c"):
        v: F64 = h[name]
        if len(v) < FLAT_MIN_HOURS:
            continue
        same = np.zeros(len(v), dtype=bool)
        same[1:] = (v[1:] == v[:-1]) & np.isfinite(v[1:]) & (v[1:] != 0)
        for s, n in _runs(same):
            if n + 1 >= FLAT_MIN_HOURS:
                out.append(
                    {
                        "kind": "flat_line",
                        "severity": "review",
                        "start": iso(h.bucket[max(s - 1, 0)]),
                        "end": iso(h.bucket[s + n - 1] + 3600),
                        "detail": f"{name.removeprefix('avg_')} stuck at {v[s]:g} for {n + 1} h",
                    }
                )
                break
    return out


def _score_ratio(r: float) -> float:
    """1 when actual/declared is within 0.8..1.25, falling to 0 at 0.3 or 3.3."""
    if not math.isfinite(r) or r <= 0:
        return 0.0
    x = min(r, 1 / r)
    return float(np.clip((x - 0.3) / 0.5, 0.0, 1.0))


def consistency(inp: ProvenanceInputs, tl: Timeline, ops: dict[str, Any]) -> dict[str, Any]:
    """Score 0-100 with one reason per compared declaration."""
    h, dec = inp.hourly, inp.asset.declared
    parts: list[tuple[str, float, float, str]] = []  # name, weight, score, reason
    pos = np.isfinite(h["last_lat"]) if len(h) else np.zeros(0, bool)
    zones = inp.zones.zones_of(inp.asset.id, ("pledged", "region", "base"))
    if pos.any() and zones:
        lat, lon = h["last_lat"][pos], h["last_lon"][pos]
        keys = list(zip(np.round(lat, 4).tolist(), np.round(lon, 4).tolist(), strict=True))
        inside_pt = {p: any(z.contains(p[0], p[1]) for z in zones) for p in set(keys)}
        inside = np.fromiter((inside_pt[k] for k in keys), dtype=bool, count=len(keys))
        share = float(inside.mean())
        parts.append(
            (
                "region",
                3.0,
                float(np.clip((share - 0.5) / 0.45, 0, 1)),
                f"{share * 100:.1f} % of positioned hours inside the pledged/region zones",
            )
        )
    elif pos.any() and (base := zone_base_point(dec)) is not None and inp.asset.class_ != "ship":
        d = hav_m(
            np.full(int(pos.sum()), base[0]),
            np.full(int(pos.sum()), base[1]),
            h["last_lat"][pos],
            h["last_lon"][pos],
        )
        share = float((d <= 100_000).mean())
        parts.append(
            (
                "region",
                2.0,
                float(np.clip((share - 0.5) / 0.45, 0, 1)),
                f"{share * 100:.1f} % of positioned hours within 100 km of the declared base",
            )
        )
    daily = ops.get("_daily")
    if daily is not None and len(daily["day"]):
        wd = (daily["day"] + 3) % 7
        months = (daily["day"] * 86400).astype("datetime64[s]").astype("datetime64[M]").astype(
            np.int64
        ) % 12 + 1
        working = dec.get("working_days")
        season = dec.get("season_months")
        on = np.isin(wd, working) if working else np.ones(len(wd), bool)
        in_season = np.isin(months, season) if season else np.ones(len(wd), bool)
        hpd = dec.get("hours_per_day")
        if hpd:
            sel = on & in_season
            med = float(np.median(daily["op_h"][sel])) if sel.any() else 0.0
            parts.append(
                (
                    "hours",
                    3.0,
                    _score_ratio(med / float(hpd)),
                    f"median {med:.1f} operating h on declared working days vs {hpd} declared",
                )
            )
        total = float(daily["op_h"].sum())
        if working and len(set(working)) < 7 and total > 0:
            share = float(daily["op_h"][on].sum()) / total
            parts.append(
                (
                    "working_days",
                    1.0,
                    float(np.clip((share - 0.5) / 0.4, 0, 1)),
                    f"{share * 100:.1f} % of operating hours on declared working days",
                )
            )
        if season and len(set(season)) < 12:
            act = daily["active"]
            if act.any():
                share = float((act & in_season).sum()) / float(act.sum())
                parts.append(
                    (
                        "season",
                        1.0,
                        float(np.clip((share - 0.5) / 0.4, 0, 1)),
                        f"{share * 100:.1f} % of active days inside the declared season",
                    )
                )
    vpm = dec.get("voyages_per_month")
    if vpm and ops.get("voyages") is not None:
        actual = ops["voyages"] / max(ops["days"] / 30.4, 1e-9)
        parts.append(
            (
                "voyages",
                2.0,
                _score_ratio(actual / float(vpm)),
                f"{actual:.1f} voyages per month vs {vpm} declared",
            )
        )
    if inp.asset.stationary and len(h):
        moving = float((np.nan_to_num(h["moving_minutes"]) > 5).mean())
        parts.append(
            (
                "stationary",
                2.0,
                float(np.clip(1 - moving * 20, 0, 1)),
                f"declared stationary; moving in {moving * 100:.1f} % of hours",
            )
        )
    if not parts:
        return {"score": None, "components": [], "reasons": ["nothing declared to compare with"]}
    score = sum(w * s for _, w, s, _ in parts) / sum(w for _, w, _, _ in parts) * 100
    return {
        "score": r3(score, 1),
        "components": [
            {"name": n, "weight": w, "score": r3(s * 100, 1), "reason": why}
            for n, w, s, why in parts
        ],
        "reasons": [why for _, _, _, why in parts],
    }


def verdict(
    inp: ProvenanceInputs,
    cov: dict[str, Any],
    cons: dict[str, Any],
    findings: list[dict[str, Any]],
    ops: dict[str, Any],
) -> dict[str, Any]:
    """``verified``, ``needs_review`` or ``failed``, with every reason that decided it."""
    fail: list[str] = []
    review: list[str] = []
    if cov["readings"] == 0:
        fail.append("no readings in the period")
    now = inp.end
    double = [
        p
        for p in inp.other_pledges
        if p["valid_from"] < now and (p["valid_to"] is None or p["valid_to"] > now)
    ]
    if double:
        fail.append(
            "identity also pledged elsewhere now: "
            + ", ".join(
                f"asset {p['asset_id']} to loan {p['loan_id']} ({'; '.join(p['shared_identity'])})"
                for p in double
            )
        )
    own = {
        p["loan_id"]
        for p in inp.pledges
        if p["valid_from"] < now and (p["valid_to"] is None or p["valid_to"] > now)
    }
    if len(own) > 1:
        fail.append(f"asset pledged to {len(own)} loans at once: {', '.join(sorted(own))}")
    ratio = cov["ratio"] or 0.0
    if cov["readings"] and ratio < 0.3:
        fail.append(f"data coverage {ratio * 100:.0f} % of the expected cadence (< 30 %)")
    elif cov["readings"] and ratio < 0.8:
        review.append(f"data coverage {ratio * 100:.0f} % of the expected cadence (< 80 %)")
    score = cons["score"]
    if score is not None and score < 40:
        fail.append(f"consistency with declared operations {score}/100 (< 40)")
    elif score is not None and score < 70:
        review.append(f"consistency with declared operations {score}/100 (< 70)")
    kinds = Counter(f["kind"] for f in findings if f["severity"] == "fail")
    fail += [f"{k.replace('_', ' ')} ({n})" for k, n in sorted(kinds.items())]
    rkinds = Counter(f["kind"] for f in findings if f["severity"] == "review")
    review += [f"{k.replace('_', ' ')} ({n})" for k, n in sorted(rkinds.items())]
    devices = {w.device_id for w in inp.windows}
    if len(devices) > 1:
        review.append(f"terminal changed during the period ({', '.join(sorted(devices))})")
    if fail:
        return {"verdict": "failed", "reasons": fail + review}
    if review:
        return {"verdict": "needs_review", "reasons": review}
    reasons = [f"data coverage {ratio * 100:.0f} % of the expected cadence"]
    if score is not None:
        reasons.append(f"consistency with declared operations {score}/100")
    reasons.append(f"{ops.get('active_days', 0)} active days; no authenticity findings")
    return {"verdict": "verified", "reasons": reasons}
