"""Every scripted incident is in the truth file AND visible in the published data.

One simulated week of a mixed fleet (JSON readings, noise on) is generated once
for the module; each truth line is then checked against the readings the
terminals actually sent, the way a detector would see them.
"""

from __future__ import annotations

import itertools
import json
import statistics
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest

from simulators import MODES, Noise, SimConfig, Simulation
from simulators.geo import Box, distance_m
from simulators.scenario import scenario_from_dict

Row = dict[str, Any]
DAY = 86_400.0


def _ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class World:
    def __init__(self) -> None:
        scenario = scenario_from_dict({"preset": "eval-small", "min_quiet_share": 0.2})
        self.sim = Simulation(SimConfig(fleet="vehicle=16,ship=6,farm=3,equipment=10", days=7,
                                        seed=21, start="2026-11-02T00:00:00Z",
                                        scenario=scenario))  # fmt: skip
        self.rows: dict[str, list[Row]] = defaultdict(list)
        for msg in self.sim.messages():
            body = json.loads(msg.payload)
            for r in body if isinstance(body, list) else [body]:
                r["t"] = _ts(r["ts"])
                self.rows[msg.device_id].append(r)
        for rows in self.rows.values():
            rows.sort(key=lambda r: r["t"])
        self.truth = self.sim.truth()
        reg = self.sim.registry()
        self.zones = {z["asset_id"]: z for z in reg["zones"] if z["kind"] == "pledged"}

    def between(self, device: str, a: float, b: float) -> list[Row]:
        return [r for r in self.rows[device] if a <= r["t"] < b]

    def outside(self, asset: str, r: Row) -> bool:
        z = self.zones[asset]
        ring = z["geometry"]["coordinates"][0]
        box = Box(ring[0][1], ring[0][0], ring[2][1], ring[2][0])
        return "lat" in r and not box.contains(r["lat"], r["lon"], z["buffer_m"])


@pytest.fixture(scope="module")
def world() -> World:
    return World()


def _cases(world: World) -> Iterator[dict[str, Any]]:
    for t in world.truth:
        if t["params"].get("companion_of") or t["kind"] == "double_pledge":
            continue
        yield t


def test_every_kind_and_mode_is_scripted(world: World) -> None:
    seen = {(t["kind"], t["params"]["mode"]) for t in world.truth}
    wanted = {(k, m) for k, modes in MODES.items() for m in modes}
    assert wanted <= seen
    busy = {t["asset_id"] for t in world.truth}
    assert any(a.asset_id not in busy for a in world.sim.fleet.assets)  # quiet assets exist


def _rest(rows: list[Row]) -> tuple[float, float]:
    return statistics.median(r["lat"] for r in rows), statistics.median(r["lon"] for r in rows)


def test_incidents_are_visible_in_the_data(world: World) -> None:
    checked: dict[str, int] = defaultdict(int)
    end_of_sim = world.sim.end
    for t in _cases(world):
        dev, asset, kind, mode = t["device_id"], t["asset_id"], t["kind"], t["params"]["mode"]
        s = _ts(t["start"])
        e = _ts(t["end"]) if t["end"] else end_of_sim
        label = f"{kind}/{mode} on {dev}"
        if kind == "offline":
            assert not world.between(dev, s + 150, e - 150), f"{label}: readings inside the gap"
            assert world.between(dev, e, e + DAY) or e >= end_of_sim - DAY, f"{label}: never back"
            if mode != "silent":
                notice = world.between(dev, s - 150, s + 150)
                assert any(r.get("tamper") for r in notice), f"{label}: no tamper notice"
        elif kind == "tamper":
            assert any((r.get("tamper") and r.get("ext_power") is not True) or r.get("tamper")
                       for r in world.between(dev, s - 150, e + 150)), label  # fmt: skip
        elif kind == "spoofing" and mode == "teleport":
            rows = [r for r in world.rows[dev] if "lat" in r]
            jumps = [
                distance_m(a["lat"], a["lon"], b["lat"], b["lon"]) / max(1.0, b["t"] - a["t"])
                for a, b in itertools.pairwise(rows)
                if s - 400 <= b["t"] <= e + 400
            ]
            assert max(jumps) * 3.6 > 1000, f"{label}: no impossible jump"
        elif kind == "spoofing" and mode == "frozen":
            rows = world.between(dev, s + 120, e - 120)
            assert len({(r["lat"], r["lon"]) for r in rows}) == 1, label
            assert rows[-1]["engine_hours"] - rows[0]["engine_hours"] > 0.3, label
        elif kind == "spoofing":
            before = max(r["engine_hours"] for r in world.between(dev, s - DAY, s - 150))
            after = [r["engine_hours"] for r in world.between(dev, s + 150, s + DAY)]
            assert min(after) < before - 100, f"{label}: counters did not run backwards"
        elif kind == "fabrication" and mode == "replay":
            shift = t["params"]["shift_s"]
            src = {
                (r["lat"], r["lon"], r.get("speed_kmh"))
                for r in world.between(dev, s - shift - 200, e - shift + 200)
            }
            rep = world.between(dev, s + 150, e - 150)
            same = sum((r["lat"], r["lon"], r.get("speed_kmh")) in src for r in rep)
            assert rep, f"{label}: nothing sent during the replay"
            assert same >= 0.9 * len(rep), f"{label}: {same}/{len(rep)} replayed"
        elif kind == "fabrication":
            rows = world.between(dev, s + 150, e - 150)
            assert len({json.dumps({k: v for k, v in r.items() if k not in ("t", "ts", "seq")},
                                   sort_keys=True) for r in rows}) == 1, label  # fmt: skip
        elif kind in ("relocation", "moved_while_parked"):
            before = [r for r in world.between(dev, s - DAY, s - 600) if "lat" in r]
            after = [r for r in world.between(dev, end_of_sim - DAY / 2, end_of_sim) if "lat" in r]
            moved = distance_m(*_rest(before), *_rest(after))
            assert moved > (1500 if kind == "moved_while_parked" else 10_000), f"{label}: {moved} m"
        elif kind == "zone_exit":
            out = [r for r in world.between(dev, s - 120, e + 120) if world.outside(asset, r)]
            assert out, f"{label}: never seen outside the zone"
            if mode == "brief":
                later = [r for r in world.between(dev, e + 600, e + DAY) if world.outside(asset, r)]
                assert not later, f"{label}: the brief excursion did not end"
            # the truth's start is the crossing itself: inside just before, outside just after
            before = world.between(dev, s - 3600, s - 120)
            assert not [r for r in before if world.outside(asset, r)], f"{label}: out early"
            if mode != "brief":
                during = [r for r in world.between(dev, s + 120, e - 120) if "lat" in r]
                assert during, label
                assert all(world.outside(asset, r) for r in during), f"{label}: back early"
        elif kind == "idle":
            rows = world.between(dev, s + 600, e - 600)
            if "metrics" in rows[0] and "power_kw" in rows[0]["metrics"]:
                busy = [r for r in world.between(dev, s - 3 * DAY, s) if "metrics" in r]
                assert max(r["metrics"]["power_kw"] for r in rows) < statistics.mean(
                    r["metrics"]["power_kw"] for r in busy
                ), label
            else:
                assert not any(r.get("engine_on") for r in rows), f"{label}: engine ran"
        elif kind == "decline":
            ramp = t["params"]["ramp_days"] * DAY
            before = world.between(dev, s - 3 * DAY, s)
            after = world.between(dev, s + ramp, s + ramp + 3 * DAY)
            if after and "metrics" in after[0] and "power_kw" in after[0]["metrics"]:

                def mean_kw(rows: list[Row]) -> float:
                    return float(statistics.mean(r["metrics"]["power_kw"] for r in rows))

                assert mean_kw(after) < 0.85 * mean_kw(before), label
            elif after:
                on_b = sum(1 for r in before if r.get("engine_on"))
                on_a = sum(1 for r in after if r.get("engine_on"))
                assert on_a < 0.7 * on_b, f"{label}: {on_a} vs {on_b}"
        checked[kind] += 1
    assert set(checked) == set(MODES) - {"double_pledge"}


def test_parked_jitter_stays_within_its_radius() -> None:
    noise = replace(Noise(), multipath_p=0.0)
    sim = Simulation(SimConfig(fleet="vehicle=3,equipment=2", days=2, seed=4, scenario="quiet",
                               noise=noise))  # fmt: skip
    parked = 0
    for dev in sim.devices():
        t = sim.start
        while t < sim.end:
            fix, t = dev.tick(t)
            truth = dev.truth
            if fix is None or truth is None or truth.moving or fix.lat is None or fix.lon is None:
                continue
            parked += 1
            d = distance_m(fix.lat, fix.lon, truth.lat, truth.lon)
            assert d <= noise.jitter_radius_m + 0.2, d
    assert parked > 500


def test_multipath_jumps_carry_a_high_hdop() -> None:
    noise = replace(Noise(), multipath_p=0.05)
    sim = Simulation(SimConfig(fleet="vehicle=2", days=1, seed=4, scenario="quiet", noise=noise))
    far = 0
    for dev in sim.devices():
        t = sim.start
        while t < sim.end:
            fix, t = dev.tick(t)
            truth = dev.truth
            if fix is None or truth is None or fix.lat is None or fix.lon is None:
                continue
            if distance_m(fix.lat, fix.lon, truth.lat, truth.lon) > noise.jitter_radius_m + 0.2:
                far += 1
                assert fix.hdop is not None
                assert fix.hdop >= 5
    assert far > 0


def test_a_weekend_day_still_gets_its_working_hours_incidents() -> None:
    """A one-day run over a weekend (the demo on a Sunday) keeps its zone exits.

    Moves are scheduled in working hours of a working day; when none is left
    before the end of a short run, the drawn time is kept rather than an
    incident after the end that never happens.
    """
    from assetwatch.demo import DEFAULT_SCENARIO

    sim = Simulation(
        SimConfig(
            fleet="vehicle=3,ship=2,farm=1,equipment=2",
            days=1,
            seed=7,
            scenario=DEFAULT_SCENARIO,
            start="2026-11-21T15:48:02Z",  # Saturday afternoon to Sunday afternoon
        )
    )
    end = _ts("2026-11-22T15:48:02Z")
    kinds = {i.kind for i in sim.incidents}
    assert "zone_exit" in kinds
    assert all(i.start < end for i in sim.incidents)
