"""Scoring alerts against ground truth: matching windows, traps, related incidents, TTD."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from alerts.errors import TruthFileError
from alerts.evaluation import Detection, parse_truth, score

T = datetime(2026, 11, 2, 8, tzinfo=UTC)


def line(kind: str, asset: str, start: datetime, end: datetime | None, **params: object) -> str:
    return json.dumps({"device_id": "d", "asset_id": asset, "kind": kind,
                       "start": start.isoformat(), "end": end and end.isoformat(),
                       "params": params})  # fmt: skip


def test_precision_recall_ttd_and_false_alarms() -> None:
    truth = parse_truth([
        line("zone_exit", "A1", T, T + timedelta(hours=5)),
        line("zone_exit", "A2", T, None),
        line("zone_exit", "A3", T, T + timedelta(minutes=2), expect_alert=False),
        line("offline", "A4", T, T + timedelta(hours=10)),
        line("tamper", "A4", T, T + timedelta(hours=10)),
    ])  # fmt: skip
    dets = [
        Detection("A1", "zone_exit", T + timedelta(minutes=20)),
        Detection("A1", "zone_exit", T + timedelta(hours=2)),  # recurrence: still a true alert
        Detection("A3", "zone_exit", T + timedelta(minutes=10)),  # inside a trap: false alarm
        Detection("A5", "zone_exit", T),  # nothing there: false alarm
        Detection("A4", "offline", T + timedelta(hours=2)),
        Detection("A4", "zone_exit", T + timedelta(hours=1)),  # during A4's offline: related
    ]
    rep = score(truth, dets, asset_days=1000.0, horizon=T + timedelta(days=1))
    k = {s.kind: s for s in rep.kinds}
    z = k["zone_exit"]
    assert (z.incidents, z.detected, z.true_alerts, z.false_alarms, z.related) == (2, 1, 2, 2, 1)
    assert z.precision == 0.5
    assert z.recall == 0.5
    assert z.ttd_median_s == 20 * 60
    assert k["offline"].recall == 1.0
    assert k["tamper"].recall == 0.0
    assert k["spoofing"].precision is None
    assert rep.false_per_1000_asset_days == 2.0
    assert "| zone_exit | 2 | 1 | 5 | 2 | 0.50 | 0.50 |" in rep.table()


def test_detection_long_after_the_end_does_not_count() -> None:
    truth = parse_truth([line("tamper", "A1", T, T + timedelta(hours=1))])
    rep = score(truth, [Detection("A1", "tamper", T + timedelta(days=2))], asset_days=10,
                horizon=T + timedelta(days=3))  # fmt: skip
    assert rep.kinds[[k.kind for k in rep.kinds].index("tamper")].detected == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "truth:2: not JSON"),
        ('{"kind": "teleport", "asset_id": "A"}', "unknown kind 'teleport'"),
        ('{"kind": "idle", "asset_id": "A", "start": "yesterday"}', "not an RFC 3339 time"),
        ('{"kind": "idle", "start": "2026-01-01T00:00:00Z"}', "asset_id is required"),
    ],
)
def test_bad_truth_lines_are_named(text: str, message: str) -> None:
    with pytest.raises(TruthFileError, match=message):
        parse_truth(["", text])


def test_double_pledge_alert_on_either_asset_detects_it() -> None:
    truth = parse_truth([line("double_pledge", "A1D", T, None, assets=["A1", "A1D"])])
    dets = [Detection("A1", "double_pledge", T), Detection("A1D", "double_pledge", T)]
    rep = score(truth, dets, asset_days=10, horizon=T + timedelta(days=1))
    k = rep.kinds[[k.kind for k in rep.kinds].index("double_pledge")]
    assert (k.detected, k.true_alerts, k.false_alarms) == (1, 2, 0)
