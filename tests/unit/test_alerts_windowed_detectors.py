"""Windowed detectors (idle, decline, relocation, offline, double pledge): contract and cases."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from alerts.detectors import (
    Decline,
    DeviceContext,
    Idle,
    Level,
    Offline,
    Relocation,
)
from alerts.detectors.daily import DailySeries, empty_series
from alerts.detectors.double_pledge import ActiveBinding, AssetIdentity, find_conflicts
from alerts.detectors.registry import WindowedDetector

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
BASE = (31.2304, 121.4737)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def working_series(days: int = 35, *, seed: int = 3) -> DailySeries:
    """A truck that works ~8 h on weekdays and rests at its depot."""
    rng = np.random.default_rng(seed)
    s = empty_series("T1", NOW, 35)
    for d in range(days):
        wd = s.weekday(d)
        s.readings[d] = 900
        s.operating_min[d] = max(0.0, rng.normal(480, 40)) if wd < 5 else rng.uniform(0, 20)
        s.distance_m[d] = s.operating_min[d] * 500
        s.rest_lat[d] = BASE[0] + rng.normal(0, 2e-4)
        s.rest_lon[d] = BASE[1] + rng.normal(0, 2e-4)
    return DailySeries(
        s.device_id,
        NOW,
        s.readings,
        s.operating_min,
        s.moving_min,
        s.distance_m,
        s.rest_lat,
        s.rest_lon,
        NOW - timedelta(minutes=2),
    )


def _idle(s: DailySeries) -> DailySeries:
    s.operating_min[:6] = 0.0
    return s


def _decline(s: DailySeries) -> DailySeries:
    s.operating_min[:10] *= 0.4
    return s


def _relocated(s: DailySeries) -> DailySeries:
    s.rest_lat[:4] += 0.5  # ~55 km north
    return s


def _offline(s: DailySeries) -> DailySeries:
    return DailySeries(
        s.device_id,
        NOW,
        s.readings,
        s.operating_min,
        s.moving_min,
        s.distance_m,
        s.rest_lat,
        s.rest_lon,
        NOW - timedelta(hours=5),
    )


WINDOW_CASES: dict[
    str, tuple[Callable[[], WindowedDetector], Callable[[DailySeries], DailySeries]]
] = {
    "idle": (Idle, _idle),
    "decline": (Decline, _decline),
    "relocation": (Relocation, _relocated),
    "offline": (Offline, _offline),
}


@pytest.mark.parametrize("kind", sorted(WINDOW_CASES))
def test_windowed_detector_contract(kind: str) -> None:
    make, incident = WINDOW_CASES[kind]
    det = make()
    ctx = DeviceContext("T1", asset_id="A1")
    assert det.kind == kind
    # warm-up: too little history gives no opinion
    young = incident(working_series(5))
    young = DailySeries(
        young.device_id,
        NOW,
        young.readings,
        young.operating_min,
        young.moving_min,
        young.distance_m,
        young.rest_lat,
        young.rest_lon,
        None,
    )
    assert det.evaluate(young, ctx, False) is None
    # quiet asset: silent over several seeds
    for seed in range(5):
        assert det.evaluate(working_series(seed=seed), ctx, False) is None
    # fires on its incident
    s = incident(working_series())
    frozen = copy.deepcopy(s)
    sig = det.evaluate(s, ctx, False)
    assert sig is not None
    assert sig.active
    assert sig.kind == kind
    assert "thresholds" in sig.evidence
    # input not mutated; detector and series survive pickle with the same verdict
    assert all(
        np.array_equal(getattr(s, f), getattr(frozen, f), equal_nan=True)
        for f in ("readings", "operating_min", "rest_lat", "rest_lon")
    )
    again = pickle.loads(pickle.dumps(det)).evaluate(pickle.loads(pickle.dumps(s)), ctx, False)
    assert again == sig
    # once open, the quiet series ends it (inactive signal)
    end = det.evaluate(working_series(), ctx, True)
    assert end is not None
    assert not end.active


def test_offline_respects_satellite_cadence() -> None:
    s = _offline(working_series())  # silent 5 h
    sat = DeviceContext("T1", asset_id="A1", expected_interval_s=12 * 3600, satellite=True)
    assert Offline().evaluate(s, sat, False) is None
    assert Offline().evaluate(s, DeviceContext("T1", expected_interval_s=30), False) is not None


def test_idle_skips_declared_off_season() -> None:
    s = _idle(working_series())
    ctx = DeviceContext("T1", asset_id="A1", season_months=(1, 2, 3))  # NOW is in June
    assert Idle().evaluate(s, ctx, False) is None


def test_double_pledge_contract() -> None:
    assets = [
        AssetIdentity("A1", {"vin": "LFW1"}),
        AssetIdentity("A2", {"vin": "lfw 1"}),
        AssetIdentity("A3", {"ear_tags": [[100, 200]]}),
        AssetIdentity("A4", {"ear_tags": [[150, 160]]}),
        AssetIdentity("A5", {"vin": "X"}),
    ]
    quiet = find_conflicts(assets[4:], pledged={"A5"}, bindings=[], now=NOW)
    assert quiet == []
    sigs = find_conflicts(assets, pledged={"A1", "A2", "A3", "A4", "A5"}, bindings=[], now=NOW)
    assert sorted(s.asset_id or "" for s in sigs) == ["A1", "A2", "A3", "A4"]
    assert all(s.level == Level.RED and "thresholds" in s.evidence for s in sigs)
    # not pledged: not a double pledge
    assert find_conflicts(assets, pledged={"A1"}, bindings=[], now=NOW) == []
    two = [ActiveBinding("T9", "A5", NOW), ActiveBinding("T9", "A6", NOW)]
    sigs = find_conflicts([], pledged=set(), bindings=two, now=NOW)
    assert [s.asset_id for s in sigs] == ["A5", "A6"]
    assert sigs[0].level == Level.ORANGE
