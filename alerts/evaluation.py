"""Detection quality: alerts matched to the simulators' ground truth.

A truth incident (asset, kind, start, end) is *detected* when an alert of that
kind on that asset is raised (or recurs) between ``start - early`` and
``end + grace(kind)`` (``end`` null means the end of the run). Matched raises
are true positives; a raise matching no incident of its kind is a false alarm
— unless it falls inside an incident of *another* kind on the same asset, when
it is counted as ``related`` (not in precision, reported beside it). Incidents
marked ``expect_alert: false`` (traps, e.g. a zone excursion shorter than the
dwell) are never detections: a raise inside one is a false alarm.

Per kind: precision, recall, median and 95th-percentile time to detect, and
false alarms per 1,000 asset-days.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

import numpy as np

from alerts.detectors import KINDS
from alerts.errors import TruthFileError
from telemetry.db import Conn
from telemetry.sqlfiles import query

EARLY: Final = timedelta(hours=1)
#: How long after an incident's end a raise still counts as detecting it.
GRACE: Final[dict[str, timedelta]] = {
    "idle": timedelta(days=3),
    "decline": timedelta(days=7),
    "relocation": timedelta(days=4),
    "offline": timedelta(hours=12),
    "double_pledge": timedelta(days=1),
}
DEFAULT_GRACE: Final = timedelta(hours=6)


@dataclass(frozen=True, slots=True)
class TruthItem:
    asset_id: str
    device_id: str
    kind: str
    start: datetime
    end: datetime | None
    expect_alert: bool = True
    #: Every asset of the incident: ``asset_id`` plus ``params.assets`` (a double
    #: pledge involves both records; an alert on either detects it).
    assets: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Detection:
    asset_id: str
    kind: str
    ts: datetime


@dataclass(frozen=True, slots=True)
class KindScore:
    kind: str
    incidents: int
    detected: int
    alerts: int
    true_alerts: int
    false_alarms: int
    related: int
    ttd_median_s: float | None
    ttd_p95_s: float | None
    false_per_1000_asset_days: float

    @property
    def precision(self) -> float | None:
        judged = self.true_alerts + self.false_alarms
        return self.true_alerts / judged if judged else None

    @property
    def recall(self) -> float | None:
        return self.detected / self.incidents if self.incidents else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "incidents": self.incidents, "detected": self.detected,
            "alerts": self.alerts, "true_alerts": self.true_alerts,
            "false_alarms": self.false_alarms, "related": self.related,
            "precision": self.precision, "recall": self.recall,
            "ttd_median_s": self.ttd_median_s, "ttd_p95_s": self.ttd_p95_s,
            "false_per_1000_asset_days": self.false_per_1000_asset_days,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class EvalReport:
    asset_days: float
    kinds: tuple[KindScore, ...]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def false_per_1000_asset_days(self) -> float:
        fa = sum(k.false_alarms for k in self.kinds)
        return 1000.0 * fa / self.asset_days if self.asset_days else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "asset_days": self.asset_days,
            "false_per_1000_asset_days": self.false_per_1000_asset_days,
            "kinds": [k.as_dict() for k in self.kinds],
            **self.extra,
        }

    def table(self) -> str:
        """The Markdown table of the README."""

        def pct(v: float | None) -> str:
            return "n/a" if v is None else f"{v:.2f}"

        def dur(v: float | None) -> str:
            if v is None:
                return "n/a"
            return f"{v / 3600:.1f} h" if v < 2 * 86400 else f"{v / 86400:.1f} d"

        lines = [
            "| kind | incidents | detected | alerts | false | precision | recall "
            "| TTD median | TTD p95 | false / 1000 asset-days |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for k in self.kinds:
            lines.append(
                f"| {k.kind} | {k.incidents} | {k.detected} | {k.alerts} | {k.false_alarms} "
                f"| {pct(k.precision)} | {pct(k.recall)} | {dur(k.ttd_median_s)} "
                f"| {dur(k.ttd_p95_s)} | {k.false_per_1000_asset_days:.2f} |"
            )
        lines.append(
            f"| **all** | | | | {sum(k.false_alarms for k in self.kinds)} | | | | "
            f"| {self.false_per_1000_asset_days:.2f} |"
        )
        return "\n".join(lines)


def _time(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise TruthFileError(f"{where}: expected an RFC 3339 string, got {value!r}")
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise TruthFileError(f"{where}: {value!r} is not an RFC 3339 time") from None
    if t.tzinfo is None:
        raise TruthFileError(f"{where}: {value!r} has no time zone")
    return t


def parse_truth(lines: Iterable[str], *, source: str = "truth") -> list[TruthItem]:
    """Truth items from JSON lines; a bad line is an error naming its number."""
    out: list[TruthItem] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{source}:{n}"
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TruthFileError(f"{where}: not JSON ({exc.msg})") from None
        if not isinstance(doc, dict):
            raise TruthFileError(f"{where}: expected an object")
        kind = doc.get("kind")
        if kind not in KINDS:
            raise TruthFileError(f"{where}: unknown kind {kind!r}")
        asset = doc.get("asset_id")
        if not isinstance(asset, str) or not asset:
            raise TruthFileError(f"{where}: asset_id is required")
        end = doc.get("end")
        raw = doc.get("params")
        params: dict[str, Any] = raw if isinstance(raw, dict) else {}
        out.append(
            TruthItem(
                asset_id=asset, device_id=str(doc.get("device_id") or ""), kind=kind,
                start=_time(doc.get("start"), f"{where} start"),
                end=None if end is None else _time(end, f"{where} end"),
                expect_alert=bool(params.get("expect_alert", True)),
                assets=(asset, *(str(a) for a in params.get("assets") or () if a != asset)),
            )
        )  # fmt: skip
    return out


def load_truth(path: Path) -> list[TruthItem]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TruthFileError(f"cannot read {path}: {exc.strerror}") from exc
    return parse_truth(text.splitlines(), source=str(path))


def detections_from_db(conn: Conn) -> list[Detection]:
    """Every raise and recurrence recorded in ``alert_events``."""
    return [
        Detection(str(a), str(k), ts)
        for a, k, ts, *_ in conn.execute(query("alerts", "raised_events"))
    ]


def _window(t: TruthItem, horizon: datetime) -> tuple[datetime, datetime]:
    end = t.end if t.end is not None else horizon
    return t.start - EARLY, end + GRACE.get(t.kind, DEFAULT_GRACE)


def score(
    truth: Sequence[TruthItem],
    detections: Sequence[Detection],
    *,
    asset_days: float,
    horizon: datetime,
    kinds: Sequence[str] = KINDS,
) -> EvalReport:
    """Per-kind precision, recall, time to detect and false alarms (see module doc)."""
    by_key: dict[tuple[str, str], list[TruthItem]] = defaultdict(list)
    by_asset: dict[str, list[TruthItem]] = defaultdict(list)
    for t in truth:
        for asset in t.assets or (t.asset_id,):
            by_key[(asset, t.kind)].append(t)
            if t.expect_alert:
                by_asset[asset].append(t)
    first_hit: dict[int, datetime] = {}
    index = {id(t): i for i, t in enumerate(truth)}
    per_kind: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for d in sorted(detections, key=lambda x: x.ts):
        stats = per_kind[d.kind]
        stats["alerts"] += 1
        matched = False
        trapped = False
        for t in by_key.get((d.asset_id, d.kind), ()):
            lo, hi = _window(t, horizon)
            if lo <= d.ts <= hi:
                if t.expect_alert:
                    matched = True
                    first_hit.setdefault(index[id(t)], d.ts)
                else:
                    trapped = True
        if matched:
            stats["true"] += 1
        elif not trapped and any(
            _window(t, horizon)[0] <= d.ts <= _window(t, horizon)[1] for t in by_asset[d.asset_id]
        ):
            stats["related"] += 1
        else:
            stats["false"] += 1
    out: list[KindScore] = []
    for kind in kinds:
        items = [t for t in truth if t.kind == kind and t.expect_alert]
        ttd = [
            max(0.0, (first_hit[index[id(t)]] - t.start).total_seconds())
            for t in items
            if index[id(t)] in first_hit
        ]
        st = per_kind.get(kind, {})
        out.append(
            KindScore(
                kind=kind, incidents=len(items), detected=len(ttd), alerts=st.get("alerts", 0),
                true_alerts=st.get("true", 0), false_alarms=st.get("false", 0),
                related=st.get("related", 0),
                ttd_median_s=float(np.median(ttd)) if ttd else None,
                ttd_p95_s=float(np.percentile(ttd, 95)) if ttd else None,
                false_per_1000_asset_days=(
                    1000.0 * st.get("false", 0) / asset_days if asset_days else 0.0
                ),
            )
        )  # fmt: skip
    return EvalReport(asset_days, tuple(out))
