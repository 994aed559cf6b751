"""Determinism, scenarios, registry seed and CLI of the simulators."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from simulators import (
    MODES,
    ScenarioError,
    SimConfig,
    Simulation,
    generate,
    load_scenario,
    parse_fleet_spec,
)
from simulators.cli import simulate
from simulators.scenario import scenario_from_dict

SMALL = SimConfig(fleet="vehicle=6,ship=3,farm=2,equipment=4", days=1.5, seed=5,
                  start="2026-11-02T00:00:00Z", scenario="eval-small")  # fmt: skip


def _digest(config: SimConfig) -> str:
    h = hashlib.sha256()
    for m in Simulation(config).messages():
        h.update(m.topic.encode())
        h.update(repr(m.send_time).encode())
        h.update(m.payload)
    return h.hexdigest()


@pytest.mark.parametrize("native", [False, True])
def test_same_seed_same_bytes(native: bool) -> None:
    cfg = replace(SMALL, native=native)
    a, b = Simulation(cfg), Simulation(cfg)
    assert a.truth_lines() == b.truth_lines()
    assert json.dumps(a.registry()) == json.dumps(b.registry())
    assert _digest(cfg) == _digest(cfg)


def test_other_seed_other_bytes() -> None:
    other = replace(SMALL, seed=6)
    assert _digest(SMALL) != _digest(other)


def test_generate_yields_topic_payload_event_time() -> None:
    first = next(iter(generate(fleet="vehicle=2", days=0.2, seed=1, scenario="quiet")))
    topic, payload, event_time = first
    assert isinstance(topic, str)
    assert isinstance(payload, bytes)
    assert isinstance(event_time, datetime)
    assert topic.startswith("assetwatch/veh-")
    assert topic.endswith("/telemetry")
    assert json.loads(payload)["ts"].startswith(event_time.strftime("%Y-%m-%dT%H:%M"))


def test_messages_come_in_send_time_order() -> None:
    times = [m.send_time for m in Simulation(SMALL).messages()]
    assert times == sorted(times)


def test_registry_matches_contract() -> None:
    sim = Simulation(SimConfig(fleet="vehicle=3,ship=2,farm=1,equipment=2", days=1, seed=2,
                               native=True, scenario="quiet"))  # fmt: skip
    doc = sim.registry()
    assert doc["format"] == "assetwatch-registry/1"
    assert set(doc) == {"format", "borrowers", "loans", "assets", "terminals", "bindings",
                        "pledges", "zones", "device_profiles"}  # fmt: skip
    protocols = {t["protocol"] for t in doc["terminals"]}
    assert protocols == {"jt808", "ais", "lorawan", "aemp"}
    for t in doc["terminals"]:
        if t["protocol"] == "jt808":
            assert len(t["jt808_phone"]) == 12
            assert t["jt808_phone"].isdigit()
        if t["protocol"] == "ais":
            assert len(t["mmsi"]) == 9
        if t["protocol"] == "lorawan":
            assert len(t["dev_eui"]) == 16
            assert t["dev_eui"] == t["dev_eui"].lower()
            assert t["device_profile"] in {p["name"] for p in doc["device_profiles"]}
    assets = {a["id"]: a for a in doc["assets"]}
    for b in doc["bindings"]:
        assert b["asset_id"] in assets
    for z in doc["zones"]:
        ring = z["geometry"]["coordinates"][0]
        assert z["geometry"]["type"] == "Polygon"
        assert ring[0] == ring[-1]
    vin = next(a for a in doc["assets"] if a["class"] == "vehicle")["identity"]["vin"]
    assert len(vin) == 17


def test_double_pledge_is_in_the_registry() -> None:
    scenario = scenario_from_dict(
        {"incidents": [{"kind": "double_pledge", "classes": ["vehicle"], "at_day": 0.5}]}
    )
    sim = Simulation(SimConfig(fleet="vehicle=10,equipment=4", days=2, seed=3, scenario=scenario))
    doc = sim.registry()
    truth = [t for t in sim.truth() if t["kind"] == "double_pledge"]
    assert {t["params"]["mode"] for t in truth} == set(MODES["double_pledge"])
    for t in truth:
        twin = t["asset_id"]
        assert any(p["asset_id"] == twin for p in doc["pledges"])
        if t["params"]["mode"] == "terminal_two_assets":
            bound = {b["asset_id"] for b in doc["bindings"] if b["device_id"] == t["device_id"]}
            assert len(bound) == 2
        else:
            a, b = (next(x for x in doc["assets"] if x["id"] == i) for i in t["params"]["assets"])
            assert a["identity"] == b["identity"]
            assert a["borrower_id"] != b["borrower_id"]


def test_fleet_spec_errors_name_the_problem() -> None:
    assert parse_fleet_spec("vehicle=2, ship=1")["ship"] == 1
    for bad, words in [("boat=3", "boat=3"), ("vehicle=x", "not an integer"), ("", "no assets")]:
        with pytest.raises(ScenarioError, match=words):
            parse_fleet_spec(bad)


def test_scenario_files(tmp_path: Path) -> None:
    y = tmp_path / "s.yaml"
    y.write_text(
        "name: t\nnoise: off\nincidents:\n  - {kind: offline, mode: power_cut, count: 1}\n"
    )
    sc = load_scenario(str(y))
    assert sc.name == "t"
    assert sc.noise.dropout_p == 0
    assert sc.incidents[0].mode == "power_cut"
    j = tmp_path / "s.json"
    j.write_text(json.dumps({"incidents": [{"kind": "teleport"}]}))
    with pytest.raises(ScenarioError, match=r"incidents\[0\]: kind 'teleport'"):
        load_scenario(str(j))
    j.write_text("{not json")
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(str(j))
    with pytest.raises(ScenarioError, match="neither a preset"):
        load_scenario("no-such-preset")


def test_quiet_assets_stay_quiet() -> None:
    sim = Simulation(SimConfig(fleet="vehicle=20,ship=6,farm=4,equipment=10", days=6, seed=9,
                               scenario="eval-small"))  # fmt: skip
    busy = {t["asset_id"] for t in sim.truth()}
    quiet = [a for a in sim.fleet.assets if a.asset_id not in busy]
    assert len(quiet) >= 0.3 * len(sim.fleet.assets)


def test_cli_writes_truth_registry_and_messages(tmp_path: Path) -> None:
    out, truth, reg = tmp_path / "m.jsonl", tmp_path / "t.jsonl", tmp_path / "r.json"
    base = ["--fleet", "vehicle=4,ship=2,farm=1,equipment=2", "--days", "2", "--seed", "4",
            "--start", "2026-11-02T00:00:00Z", "--scenario", "eval-small", "--format", "native",
            "--no-progress"]  # fmt: skip
    args = [*base, "--truth", str(truth), "--registry", str(reg), "--out", str(out), "--json"]
    res = CliRunner().invoke(simulate, args)
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output.strip().splitlines()[-1])
    lines = out.read_text().splitlines()
    assert summary["messages"] == len(lines) > 100
    first = json.loads(lines[0])
    assert set(first) == {"send_time", "event_time", "device_id", "kind", "topic", "payload_b64"}
    for line in truth.read_text().splitlines():
        t = json.loads(line)
        assert set(t) == {"device_id", "asset_id", "kind", "start", "end", "params"}
        assert t["kind"] in MODES
    assert json.loads(reg.read_text())["format"] == "assetwatch-registry/1"
    again = tmp_path / "m2.jsonl"
    res = CliRunner().invoke(simulate, [*base, "--out", str(again)])
    assert res.exit_code == 0, res.output
    assert again.read_bytes() == out.read_bytes()


def test_cli_bad_input_is_a_clear_error() -> None:
    res = CliRunner().invoke(simulate, ["--fleet", "rocket=1", "--dry-run"])
    assert res.exit_code != 0
    assert "rocket=1" in res.output
    res = CliRunner().invoke(simulate, ["--scenario", "nope", "--dry-run", "--fleet", "vehicle=1"])
    assert res.exit_code != 0
    assert "neither a preset" in res.output


def test_pace_releases_messages_at_speedup() -> None:
    from simulators.publish import pace

    sim = Simulation(SimConfig(fleet="vehicle=2", days=0.1, seed=1, scenario="quiet"))
    now = [100.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    released = []
    for m in pace(sim.messages(), start=sim.start, speedup=60.0, clock=lambda: now[0], sleep=sleep):
        released.append((now[0] - 100.0, m.send_time - sim.start))
    assert released
    for wall, simulated in released:
        assert wall >= simulated / 60.0 - 0.006
    assert released[-1][0] == pytest.approx(released[-1][1] / 60.0, abs=0.01)
    assert list(pace(iter(()), start=0.0, speedup=None)) == []
