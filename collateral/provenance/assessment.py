"""Consistency of the data with the declared operations, and the verdict of the report."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np

from collateral.geojson import zone_base_point
from collateral.provenance.figures import Timeline, hav_m, r3
from collateral.provenance.inputs import ProvenanceInputs


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
