"""The simulators' wire formats decode: JT/T 808 and friends through the ingest decoders
(written independently from the standards; skipped until they exist), AIS through pyais.
"""

from __future__ import annotations

import importlib
import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import pytest
from pyais.messages import NMEASentenceFactory

from simulators import Fix, Noise, SimConfig, Simulation
from simulators.codecs import FrameOptions, aemp_json, aemp_xml, encode_batch, encode_location
from simulators.codecs.ais import ais_lines
from simulators.codecs.chirpstack import PROFILES, chirpstack_uplink
from simulators.codecs.jt808 import encode_heartbeat

T = datetime(2026, 11, 3, 4, 5, 6, 789000, tzinfo=UTC).timestamp()
FIX = Fix(T, 77, 31.234567, 121.4566, 12.0, 54.3, 181.0, 1.1, 12, True, True, 1234.56,
          98765.4, 62.5, 27.6, True, False)  # fmt: skip


def _ingest(name: str) -> ModuleType:
    try:
        return importlib.import_module(f"ingest.codecs.{name}")
    except ModuleNotFoundError:
        pytest.skip(f"ingest.codecs.{name} does not exist yet")


def _ctx(topic: str, device: str, profiles: dict[str, Any] | None = None) -> Any:
    base = _ingest("base")
    return base.DecodeContext(
        topic=topic,
        topic_device=device,
        received_at=datetime(2026, 11, 3, 5, tzinfo=UTC),
        late_after=timedelta(hours=1),
        message_id="m1",
        profile_for=(lambda eui: (profiles or {}).get(eui)) if profiles is not None else None,
    )


def _unframe(frame: bytes) -> bytes:
    """Independent check of framing: flags, unescaping and the XOR check code."""
    assert frame[0] == frame[-1] == 0x7E
    assert 0x7E not in frame[1:-1]
    raw = frame[1:-1].replace(b"\x7d\x02", b"\x7e").replace(b"\x7d\x01", b"\x7d")
    check = 0
    for b in raw[:-1]:
        check ^= b
    assert check == raw[-1]
    return raw[:-1]


def test_jt808_frame_layout_and_escaping() -> None:
    lon = 0x067E7D7E / 1e6  # its DWORD is 06 7e 7d 7e: must be escaped
    fix = Fix(T, 0x7E7D, 31.0, lon, 0.0, 0.0, 0.0, sats=9, ignition=False)
    frame = encode_location(fix, FrameOptions("013800000001"))
    raw = _unframe(frame)
    assert raw[:2] == b"\x02\x00"
    assert raw[4:10] == bytes.fromhex("013800000001")
    assert (raw[2] << 8 | raw[3]) & 0x3FF == len(raw) - 12
    assert raw[12 + 12 : 12 + 16] == (0x067E7D7E).to_bytes(4, "big")
    new = _unframe(encode_location(fix, FrameOptions("013800000001", v2019=True)))
    assert new[2] & 0x40
    assert new[4] == 1
    assert new[5:15] == bytes.fromhex("00000000013800000001")
    assert _unframe(encode_heartbeat(5, FrameOptions("013800000001")))[:4] == b"\x00\x02\x00\x00"


@pytest.mark.parametrize("v2019", [False, True])
def test_jt808_decodes_through_ingest(v2019: bool) -> None:
    jt = _ingest("jt808")
    opts = FrameOptions("013800000042", v2019=v2019, tank_l=400.0)
    lon = 0x067E7D7E / 1e6
    fixes = [FIX, Fix(T + 30, 78, 22.5, lon, 3.0, 0.0, 90.0, 0.9, 7, False, False, 1234.6,
                      98765.4, 61.0, 25.1, False, True, ("main_power_lost",))]  # fmt: skip
    ctx = _ctx("assetwatch/veh-00042/jt808", "veh-00042")
    for fix in fixes:
        got = jt.decode(encode_location(fix, opts), ctx).groups[0]
        assert got.identifier == "013800000042"
        _same_jt808(got.readings[0], fix)
    batch = encode_batch(fixes * 10, 9, opts)
    readings = [r for frame in batch for g in jt.decode(frame, ctx).groups for r in g.readings]
    assert len(readings) == 20
    for r, f in zip(readings, fixes * 10, strict=True):
        _same_jt808(r, f)
    assert jt.decode(encode_heartbeat(3, opts), ctx).reading_count == 0


def _same_jt808(r: Any, f: Fix, tank_l: float = 400.0) -> None:
    assert r.ts == datetime.fromtimestamp(int(f.t), UTC)
    assert r.lat == pytest.approx(f.lat, abs=1e-6)
    assert r.lon == pytest.approx(f.lon, abs=1e-6)
    assert r.speed_kmh == pytest.approx(f.speed_kmh, abs=0.05)
    assert r.heading_deg == round(f.heading_deg or 0) % 360
    assert r.odometer_km == pytest.approx(f.odometer_km, abs=0.05)
    assert r.sats == f.sats
    assert r.ignition == f.ignition
    assert r.metrics["fuel_l"] == pytest.approx((f.fuel_pct or 0) * tank_l / 100, abs=0.05)
    assert set(f.alarms) <= set(r.alarms)
    assert bool(r.tamper) == bool(f.tamper)


def test_simulated_jt808_stream_decodes_through_ingest() -> None:
    jt = _ingest("jt808")
    sim = Simulation(SimConfig(fleet="vehicle=4", days=1, seed=8, native=True,
                               start="2026-11-03T00:00:00Z", scenario="eval-small"))  # fmt: skip
    tank = {t.device_id: float(str(sim.fleet.asset_by_id[t.asset_id].declared["fuel_tank_l"]))
            for t in sim.fleet.terminals}  # fmt: skip
    n = 0
    for msg in sim.messages():
        decoded = jt.decode(msg.payload, _ctx(msg.topic, msg.device_id))
        n += decoded.reading_count
        if msg.kind == "reading":
            _same_jt808(decoded.groups[0].readings[0], msg.fixes[0], tank[msg.device_id])
    assert n > 1000


def _ais_sentences(payload: bytes) -> list[Any]:
    return [NMEASentenceFactory.produce(line) for line in payload.split(b"\n")]


@pytest.mark.parametrize("class_b", [False, True])
def test_ais_decodes_with_pyais(class_b: bool) -> None:
    fixes = [FIX, Fix(T + 60, 78, -12.5, -77.25, None, 0.0, 0.0, 1.0, 9)]
    payload = ais_lines(fixes, 412345678, class_b=class_b)
    sentences = _ais_sentences(payload)
    assert len(sentences) == 2
    for s, f in zip(sentences, fixes, strict=True):
        msg = s.decode()
        assert msg.msg_type == (18 if class_b else 1)
        assert msg.mmsi == 412345678
        assert msg.lat == pytest.approx(f.lat, abs=2e-6)
        assert msg.lon == pytest.approx(f.lon, abs=2e-6)
        assert msg.speed == pytest.approx((f.speed_kmh or 0) / 1.852, abs=0.051)
        assert msg.second == int(f.t) % 60
        s.tag_block.init()
        assert int(s.tag_block.receiver_timestamp) == int(f.t)


def test_satellite_batches_are_out_of_order_ais() -> None:
    sim = Simulation(SimConfig(fleet="ship=12", days=2, seed=3, native=True, scenario="quiet"))
    sat = {t.device_id for t in sim.fleet.terminals if t.satellite}
    assert sat
    shuffled = 0
    for msg in sim.messages():
        if msg.device_id in sat:
            assert msg.kind == "batch"
            stamps = []
            for s in _ais_sentences(msg.payload):
                s.tag_block.init()
                stamps.append(int(s.tag_block.receiver_timestamp))
            assert len(stamps) >= 3
            assert max(stamps) <= msg.send_time
            shuffled += stamps != sorted(stamps)
    assert shuffled


def test_ais_decodes_through_ingest() -> None:
    ais = _ingest("ais")
    payload = ais_lines([FIX], 412345678, class_b=False)
    got = ais.AisDecoder().decode(payload, _ctx("assetwatch/ship-1/ais", "ship-1"))
    r = got.groups[0].readings[0]
    assert got.groups[0].identifier == "412345678"
    assert r.ts == datetime.fromtimestamp(int(FIX.t), UTC)
    assert r.lat == pytest.approx(FIX.lat, abs=2e-6)


@pytest.mark.parametrize("role", ["collar", "silo", "power"])
def test_chirpstack_uplink_decodes_through_ingest(role: str) -> None:
    cs = _ingest("chirpstack")
    fix = Fix(T, 9, 44.1, 87.3, hdop=1.0, battery_v=3.61, ext_power=True, tamper=False,
              metrics={"activity": 41.0, "body_temp_c": 38.7, "silo_level_pct": 55.5,
                       "power_kw": 6.2, "energy_kwh": 1234.5})  # fmt: skip
    eui = "a840410000010002"
    profile = f"{role}-v1"
    payload = chirpstack_uplink(fix, dev_eui=eui, profile=profile, device_name="farm-1", f_cnt=9)
    doc = json.loads(payload)
    assert doc["deviceInfo"]["devEui"] == eui
    assert doc["deviceInfo"]["deviceProfileName"] == profile
    ctx = _ctx(f"application/x/device/{eui}/event/up", eui, {eui: PROFILES[profile]})
    r = cs.decode(payload, ctx).groups[0].readings[0]
    assert r.ts == datetime.fromtimestamp(round(T * 1000) / 1000, UTC)
    for field, key in PROFILES[profile].items():
        want = doc["object"][key]
        got = r.metrics[field[8:]] if field.startswith("metrics.") else getattr(r, field)
        assert got == want


@pytest.mark.parametrize("xml", [False, True])
def test_aemp_snapshots(xml: bool) -> None:
    fix = Fix(T, 5, 30.1, 120.2, 15.0, 0.0, None, 1.0, 10, True, True, 4321.25, None, 55.0,
              metrics={"idle_hours": 800.5, "fuel_used_l": 91234.5, "load_pct": 60.0,
                       "power_kw": 72.0})  # fmt: skip
    ident = {"serial": "SANSY215C123456", "oem": "SANY", "model": "SY215C"}
    payload = (aemp_xml if xml else aemp_json)(fix, ident, "eqp-00001")
    if xml:
        root = ET.fromstring(payload)
        assert root.tag.endswith("Fleet")
    else:
        assert json.loads(payload)["Fleet"]["Equipment"][0]["EquipmentHeader"]["SerialNumber"]
    aemp = _ingest("aemp")
    group = aemp.decode(payload, _ctx("assetwatch/eqp-00001/aemp", "eqp-00001")).groups[0]
    assert group.identifier == "SANSY215C123456"
    (r,) = group.readings
    assert r.engine_hours == 4321.25
    assert r.engine_on is True
    assert r.fuel_pct == 55.0
    assert r.lat == 30.1
    assert r.metrics["idle_hours"] == 800.5
    assert r.metrics["fuel_used_l"] == 91234.5


def test_jt808_backfill_batches_carry_their_fixes() -> None:
    jt = _ingest("jt808")
    sim = Simulation(SimConfig(fleet="vehicle=6", days=3, seed=2, native=True, scenario="quiet",
                               noise=replace(Noise(), blind_area_per_day=4.0)))  # fmt: skip
    batches = [m for m in sim.messages() if m.kind == "batch"]
    assert batches
    for msg in batches:
        (group,) = jt.decode(msg.payload, _ctx(msg.topic, msg.device_id)).groups
        assert len(group.readings) == len(msg.fixes) <= 20
        assert [r.ts for r in group.readings] == [
            datetime.fromtimestamp(int(f.t), UTC) for f in msg.fixes
        ]
