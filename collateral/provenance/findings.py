"""Authenticity findings from the hourly rollups (consistency and the verdict: assessment.py).

Findings come from the hourly rollups: gaps, position jumps no vehicle of the
class could make, positions frozen to the last digit while the engine runs,
whole days repeated hour by hour (replay), metrics flat-lined for a day or
more, counters running backwards; plus tamper and alarm readings and the
alerts the detectors raised for the asset.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any, Final

import numpy as np

from collateral.provenance.figures import F64, Timeline, _counter_total
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
