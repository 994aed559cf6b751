"""The provenance report: build it, digest it, verify it later.

The report is a JSON document ``{"format", "body", "evidence"}``. ``evidence``
holds SHA-256 of the canonical JSON of ``body`` and SHA-256 of the canonical
text of every raw reading in the report's windows (computed in the database).
:func:`verify_report` recomputes both: an edited report or a changed, added or
removed reading shows, and so does a body that no longer comes out the same.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

import numpy as np

from collateral.canonical import canonical_json, sha256_hex
from collateral.errors import ProvenanceError
from collateral.provenance import assessment, figures, findings
from collateral.provenance.evidence import changed_hours, recomputed_evidence, sealed_evidence
from collateral.provenance.findings import iso
from collateral.provenance.inputs import ProvenanceInputs, Window, load_inputs
from telemetry.db import Conn

FORMAT: Final = "assetwatch-provenance/1"


def _plain(v: Any) -> Any:
    if isinstance(v, datetime):
        return iso(v)
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, float):
        return figures.r3(v, 6)
    return v


@dataclass(frozen=True)
class ReportTiming:
    """Where the time went (seconds), for the benchmark."""

    load_s: float
    compute_s: float
    digest_s: float  # evidence: seals read, recent hours digested (and sealed)


def build_body(
    inp: ProvenanceInputs,
    *,
    generated_at: datetime,
    source: str,
    evidence_mismatches: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The report body (everything but the evidence block) from loaded inputs."""
    tl = figures.timeline(inp)
    cov = figures.coverage(inp)
    ops = figures.operations(inp, tl)
    found = findings.authenticity(inp, tl, cov)
    found += [
        {
            "kind": "evidence_mismatch",
            "severity": "fail" if "removed" in m else "review",
            "start": None,
            "end": None,
            "detail": m,
        }
        for m in evidence_mismatches[:20]
    ]
    cons = assessment.consistency(inp, tl, ops)
    verdict = assessment.verdict(inp, cov, cons, found, ops)
    daily = ops.pop("_daily", None)
    days = []
    if daily is not None:
        for d, oh, km in zip(daily["day"], daily["op_h"], daily["dist_km"], strict=True):
            days.append(
                {
                    "date": iso(int(d) * 86400.0)[:10],
                    "operating_h": figures.r3(float(oh), 2),
                    "distance_km": figures.r3(float(km), 2),
                }
            )
    for g in cov["gaps"]:
        g["start"], g["end"] = iso(g["start"]), iso(g["end"])
    sites = figures.sites(inp)
    for s in sites:
        s["first"], s["last"] = iso(s["first"]), iso(s["last"] + 3600)
    a = inp.asset
    body: dict[str, Any] = _plain(
        {
            "asset": {
                "id": a.id,
                "name": a.name,
                "class": a.class_,
                "identity": a.identity,
                "declared": a.declared,
                "stationary": a.stationary,
            },
            "borrower": inp.borrower,
            "period": {
                "start": inp.start,
                "end": inp.end,
                "days": round((inp.end - inp.start).total_seconds() / 86400),
            },
            "generated_at": generated_at.astimezone(UTC).replace(microsecond=0),
            "source": source,
            "terminals": [
                {
                    "device_id": w.device_id,
                    "from": w.start,
                    "to": w.end,
                    "expected_interval_s": w.expected_interval_s,
                    "satellite": w.satellite,
                }
                for w in inp.windows
            ],
            "bindings": [{k: v for k, v in b.items() if k != "id"} for b in inp.bindings],
            "pledges": [{k: v for k, v in p.items() if k != "id"} for p in inp.pledges],
            "other_pledges": [{k: v for k, v in p.items() if k != "id"} for p in inp.other_pledges],
            "coverage": cov,
            "operations": ops,
            "daily": days,
            "sites": sites,
            "consistency": cons,
            "findings": found,
            "alerts": None if inp.alerts is None else list(inp.alerts),
            "verdict": verdict,
        }
    )
    return body


def _windows(ws: tuple[Window, ...]) -> list[dict[str, Any]]:
    return [{"device_id": w.device_id, "start": iso(w.start), "end": iso(w.end)} for w in ws]


def build_report(
    conn: Conn,
    asset_id: str,
    *,
    days: int = 180,
    end: datetime | None = None,
    generated_at: datetime | None = None,
    source: str = "rollup",
    timing: list[ReportTiming] | None = None,
) -> dict[str, Any]:
    """The provenance report of ``asset_id`` over the ``days`` before ``end`` (default now).

    This is the function the gateway serves. Raises :class:`NotFound` for an
    unknown asset and :class:`ProvenanceError` when the data cannot be read.
    """
    if not 1 <= days <= 3660:
        raise ProvenanceError(f"days must be 1..3660, got {days}")
    now = datetime.now(UTC)
    end = (end or now).astimezone(UTC)
    t0 = time.perf_counter()
    inp = load_inputs(conn, asset_id, start=end - timedelta(days=days), end=end, source=source)
    t1 = time.perf_counter()
    windows = _windows(inp.windows)
    h = inp.hourly
    counts = {
        (inp.windows[int(d)].device_id, float(b)): int(n)
        for d, b, n in zip(
            h.device.tolist(), h.bucket.tolist(), h["readings"].tolist(), strict=True
        )
    }
    ev = sealed_evidence(conn, windows, counts, now=now)
    t2 = time.perf_counter()
    body = build_body(
        inp, generated_at=generated_at or now, source=source, evidence_mismatches=ev.mismatches
    )
    t3 = time.perf_counter()
    if timing is not None:
        timing.append(ReportTiming(t1 - t0, t3 - t2, t2 - t1))
    return {
        "format": FORMAT,
        "body": body,
        "evidence": {
            "algorithm": "sha256",
            "canonical_json": "sorted keys, no whitespace, UTF-8",
            "report_sha256": sha256_hex(canonical_json(body)),
            "readings_sha256": ev.sha256,
            "readings_count": ev.readings,
            "readings_canonical": "per hour: sha256 of one line per reading "
            "(see docs/provenance.md); overall: sha256 of "
            "'device|hour|count|hour_sha256' lines",
            "windows": windows,
        },
    }


@dataclass
class VerifyResult:
    """Outcome of :func:`verify_report`; ``ok``: neither the report nor its readings changed."""

    report_intact: bool
    readings_unchanged: bool
    reproducible: bool | None
    details: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.report_intact and self.readings_unchanged

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "report_intact": self.report_intact,
            "readings_unchanged": self.readings_unchanged,
            "reproducible": self.reproducible,
            "details": self.details,
        }


def verify_report(conn: Conn, doc: Any, *, recompute: bool = True) -> VerifyResult:
    """Check a report document against its digests and the database as it is now.

    ``reproducible`` (when ``recompute``) tells whether building the report again
    for the same asset, period and time gives the same body; registry or alert
    changes made since (a pledge released, an alert resolved) make it False
    without the evidence being broken.
    """
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ProvenanceError(f"not a provenance report (format {FORMAT!r} expected)")
    body, ev = doc.get("body"), doc.get("evidence")
    if not isinstance(body, dict) or not isinstance(ev, dict):
        raise ProvenanceError("report lacks its body or evidence block")
    details: list[str] = []
    intact = sha256_hex(canonical_json(body)) == ev.get("report_sha256")
    details.append(
        "report body matches its digest"
        if intact
        else "report body was changed after it was issued"
    )
    windows = ev.get("windows")
    if not isinstance(windows, list):
        raise ProvenanceError("evidence lacks its windows")
    fresh = recomputed_evidence(conn, windows)
    same = fresh.sha256 == ev.get("readings_sha256") and fresh.readings == ev.get("readings_count")
    if same:
        details.append("readings unchanged")
    else:
        details.append(
            f"readings changed: {fresh.readings} now vs {ev.get('readings_count')} "
            "when issued, digest differs"
        )
        details += changed_hours(conn, windows, fresh)[:20]
    reproducible: bool | None = None
    if recompute:
        try:
            period = body["period"]
            end = datetime.fromisoformat(period["end"].replace("Z", "+00:00"))
            again = build_report(
                conn,
                body["asset"]["id"],
                days=int(period["days"]),
                end=end,
                generated_at=datetime.fromisoformat(body["generated_at"].replace("Z", "+00:00")),
                source=body.get("source", "rollup"),
            )
            reproducible = again["evidence"]["report_sha256"] == ev.get("report_sha256")
            details.append(
                "recomputed body is identical"
                if reproducible
                else "recomputed body differs (registry, alerts or data changed)"
            )
        except (KeyError, TypeError, ValueError) as exc:
            details.append(f"cannot recompute: {exc}")
    return VerifyResult(intact, same, reproducible, details)
