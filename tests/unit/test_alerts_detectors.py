"""Streaming detectors through one contract test, plus their specifics.

The windowed detectors' contract and cases: test_alerts_windowed_detectors.py.
"""

from __future__ import annotations

import copy
import pickle
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alerts.detectors import (
    DeviceContext,
    Fabrication,
    Level,
    MovedWhileParked,
    Signal,
    Spoofing,
    Tamper,
    ZoneExit,
    ZoneSpec,
)
from alerts.detectors.registry import StreamingDetector
from alerts.detectors.state_codec import decode_state, encode_state, state_size
from telemetry.model import Reading

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
BASE = (31.2304, 121.4737)
ZONE = ZoneSpec(
    "Z1",
    {
        "type": "Polygon",
        "coordinates": [
            [[121.42, 31.18], [121.52, 31.18], [121.52, 31.28], [121.42, 31.28], [121.42, 31.18]]
        ],
    },
    200.0,
)


def parked(
    n: int, *, start: datetime = T0, step_s: float = 60.0, seed: int = 1, **kw: Any
) -> list[Reading]:
    """A parked truck: GPS jitter of a few metres, occasional poor-hdop outliers."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        bad = rng.random() < 0.03
        out.append(
            Reading(
                device_id="T1",
                ts=start + timedelta(seconds=step_s * i),
                seq=i,
                lat=BASE[0] + rng.gauss(0, 4e-5) + (0.02 if bad else 0.0),
                lon=BASE[1] + rng.gauss(0, 4e-5),
                speed_kmh=0.0,
                hdop=9.0 if bad else round(rng.uniform(0.7, 1.6), 2),
                sats=10,
                engine_hours=1200.0,
                odometer_km=50_000.0,
                battery_v=round(12.6 + rng.gauss(0, 0.05), 2),
                ext_power=True,
                **kw,
            )
        )
    return out


def drive(r0: Reading, n: int, dlat: float, dlon: float, *, step_s: float = 60.0) -> list[Reading]:
    """Move from r0 by (dlat, dlon) per reading, then keep the position with jitter."""
    rng = random.Random(7)
    out = []
    lat, lon = r0.lat or 0.0, r0.lon or 0.0
    odo = r0.odometer_km or 0.0
    for i in range(n):
        lat += dlat
        lon += dlon
        odo += 1.0
        out.append(
            replace(
                r0,
                ts=r0.ts + timedelta(seconds=step_s * (i + 1)),
                seq=(r0.seq or 0) + i + 1,
                lat=lat + rng.gauss(0, 3e-5),
                lon=lon + rng.gauss(0, 3e-5),
                speed_kmh=40.0,
                hdop=1.0,
                odometer_km=odo,
                engine_hours=1200 + i / 60,
            )
        )
    return out


def then(rs: list[Reading], more: list[Reading]) -> list[Reading]:
    """Shift ``more`` to start right after ``rs``."""
    shift = rs[-1].ts - more[0].ts + timedelta(seconds=60)
    return rs + [replace(r, ts=r.ts + shift) for r in more]


CTX = DeviceContext("T1", asset_id="A1", zones=(ZONE,))
STATIONARY = DeviceContext("T1", asset_id="A1", zones=(ZONE,), stationary=True)


def _zone_incident() -> list[Reading]:
    base = parked(60)
    out = drive(base[-1], 20, 0.0, 0.01)  # ~950 m per minute east: leaves the zone
    stay = parked(60, start=out[-1].ts + timedelta(seconds=60), seed=3)
    dlat = (out[-1].lat or 0.0) - BASE[0]
    dlon = (out[-1].lon or 0.0) - BASE[1]
    stay = [replace(r, lat=(r.lat or 0) + dlat, lon=(r.lon or 0) + dlon) for r in stay]
    return base + out + stay


def _moved_incident() -> list[Reading]:
    base = parked(60)
    out = drive(base[-1], 6, 0.005, 0.0)  # ~3.3 km north
    tail = parked(30, start=out[-1].ts + timedelta(seconds=60), seed=4)
    tail = [replace(r, lat=(r.lat or 0) + 0.03) for r in tail]
    return base + out + tail


def _tamper_incident() -> list[Reading]:
    base = parked(60)
    cut = [replace(r, ext_power=False, alarms=("main_power_lost",)) for r in parked(20, seed=5)]
    return then(base, cut)


def _spoof_incident() -> list[Reading]:
    base = parked(60)
    far = [replace(r, lat=(r.lat or 0) + 4.0) for r in parked(10, seed=6)]  # 440 km in a minute
    return then(base, far)


def _fabrication_incident() -> list[Reading]:
    base = parked(400, engine_on=True)  # a machine working in place
    return then(base, base[20:300])  # replayed with new timestamps


@dataclass(frozen=True)
class StreamCase:
    make: Callable[[], StreamingDetector]
    ctx: DeviceContext
    incident: Callable[[], list[Reading]]


STREAM_CASES = {
    "zone_exit": StreamCase(ZoneExit, CTX, _zone_incident),
    "moved_while_parked": StreamCase(MovedWhileParked, STATIONARY, _moved_incident),
    "tamper": StreamCase(Tamper, CTX, _tamper_incident),
    "spoofing": StreamCase(Spoofing, CTX, _spoof_incident),
    "fabrication": StreamCase(Fabrication, CTX, _fabrication_incident),
}


def run(det: StreamingDetector, rs: list[Reading], ctx: DeviceContext) -> tuple[Any, list[Signal]]:
    state = det.initial()
    out: list[Signal] = []
    for r in rs:
        state, sigs = det.step(state, r, ctx)
        out.extend(sigs)
    return state, out


@pytest.mark.parametrize("kind", sorted(STREAM_CASES))
def test_streaming_detector_contract(kind: str) -> None:
    case = STREAM_CASES[kind]
    det = case.make()
    assert det.kind == kind
    incident = case.incident()
    # silent during warm-up: the first readings give no opinion
    assert run(det, incident[:2], case.ctx)[1] == []
    # silent on a quiet asset (jitter and poor fixes included), for hours
    state, sigs = run(det, parked(600, seed=11), case.ctx)
    assert sigs == []
    assert state_size(state) <= 2048
    # fires on its scripted incident, active first, with evidence and thresholds
    state, sigs = run(det, incident, case.ctx)
    assert sigs, f"{kind} did not fire on its incident"
    first = sigs[0]
    assert first.active
    assert first.kind == kind
    assert first.asset_id == "A1"
    assert "thresholds" in first.evidence
    assert state_size(state) <= 2048
    # state survives pickle and the JSON checkpoint, mid-incident
    half = len(incident) * 2 // 3
    mid, _ = run(det, incident[:half], case.ctx)
    for restored in (
        pickle.loads(pickle.dumps(mid)),
        decode_state(det.state_type, encode_state(mid)),
    ):
        assert restored == mid
        a, b = mid, restored
        sa: list[Signal] = []
        sb: list[Signal] = []
        for r in incident[half:]:
            a, s1 = det.step(a, r, case.ctx)
            b, s2 = det.step(b, r, case.ctx)
            sa += s1
            sb += s2
        assert sa == sb
    # input not mutated
    before = copy.deepcopy(mid)
    r = incident[half]
    r_before = repr(r)
    det.step(mid, r, case.ctx)
    assert mid == before
    assert repr(r) == r_before


@pytest.mark.parametrize("kind", sorted(STREAM_CASES))
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_step_batch_equals_one_reading_at_a_time(kind: str, seed: int) -> None:
    """The ingest hook steps a device's batch in one call: cutting the stream into
    batches anywhere (restarts, checkpoints) gives the same states and signals."""
    case = STREAM_CASES[kind]
    det = case.make()
    rng = random.Random(seed)
    stream = parked(30, seed=seed) + case.incident()
    # a store-and-forward batch arriving late, out of order, in the middle
    late = [replace(r, ts=r.ts - timedelta(hours=2)) for r in stream[10:25]]
    stream = stream[:100] + late + stream[100:]
    one, one_sigs = run(det, stream, case.ctx)
    state = det.initial()
    sigs: list[Signal] = []
    i = 0
    while i < len(stream):
        n = rng.randint(1, 40)
        chunk = stream[i : i + n]
        passed, ref = state, copy.deepcopy(state)
        state, out = det.step_batch(passed, chunk, [r.ts.timestamp() for r in chunk], case.ctx)
        assert passed == ref  # the input state is not mutated
        sigs += out
        i += n
    assert state == one
    assert sigs == one_sigs
    assert sigs, f"{kind}: the stream holds its incident"


def test_streaming_detectors_ignore_late_data_for_raising() -> None:
    """A store-and-forward batch after the newest fix raises nothing complete data would not."""
    det = ZoneExit()
    rs = parked(60)
    newest_first = [rs[-1], *rs[:-1]]
    assert run(det, newest_first, CTX)[1] == []


def test_zone_exit_ignores_poor_and_impossible_fixes() -> None:
    rs = parked(100)
    glitch = [
        replace(r, lat=(r.lat or 0) + 0.3, hdop=1.0) if i % 17 == 5 else r for i, r in enumerate(rs)
    ]
    assert run(ZoneExit(), glitch, CTX)[1] == []
    poor = [replace(r, lat=(r.lat or 0) + 0.3, hdop=12.0) for r in rs[:40]]
    assert run(ZoneExit(), then(rs, poor), CTX)[1] == []


def test_zone_exit_escalates_and_ends_with_hysteresis() -> None:
    rs = _zone_incident()
    back = [replace(r, lat=BASE[0], lon=BASE[1]) for r in parked(30, seed=9)]
    state, sigs = run(ZoneExit(), then(rs, back), CTX)
    active = [s for s in sigs if s.active]
    assert active[0].level == Level.WATCH or active[0].level <= active[-1].level
    assert max(s.level for s in active) >= Level.YELLOW  # ~9 km out: beyond 2 km
    assert not sigs[-1].active
    assert not state.active


def test_tamper_single_glitch_is_ignored() -> None:
    rs = parked(30)
    rs[10] = replace(rs[10], ext_power=False)
    assert run(Tamper(), rs, CTX)[1] == []


def test_spoofing_counters_backwards_and_out_and_back_glitch() -> None:
    rs = parked(30)
    rs[15] = replace(rs[15], lat=(rs[15].lat or 0) + 3.0)  # single outlier, then back: a glitch
    assert run(Spoofing(), rs, CTX)[1] == []
    back = [replace(r, odometer_km=40_000.0) for r in parked(5, seed=2)]
    sigs = run(Spoofing(), then(rs, back), CTX)[1]
    assert sigs[0].evidence["anomalies"] == ["counter_backwards"]
    assert sigs[0].level == Level.ORANGE


# ---------------------------------------------------------------- windowed detectors


def test_fabrication_state_from_before_the_fingerprint_change_keeps_its_condition() -> None:
    """Filters built with the older fingerprint are dropped; an open condition is kept."""
    det = Fabrication()
    state, _ = run(det, _fabrication_incident(), CTX)
    assert state.active
    assert state.bloom_a
    old = replace(state, fp_version=1)  # as decoded from a checkpoint written before
    rs = parked(3, start=T0 + timedelta(days=2), engine_on=True, seed=9)
    new, _ = det.step_batch(old, rs, [r.ts.timestamp() for r in rs], CTX)
    assert new.fp_version == 2
    assert new.active
    assert new.since == state.since
    assert new.replay_run == 0
    assert new.bloom_b == ""
    assert decode_state(type(old), {"last_ts": 1.0}).fp_version == 1
