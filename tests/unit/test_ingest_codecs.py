"""Decoders: each format to readings, and clear errors on malformed input."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from ingest.codecs import aemp, chirpstack, jsonreading, jt808
from ingest.codecs.ais import AisDecoder
from ingest.codecs.base import DecodeContext
from ingest.errors import DecodeError
from tests.jt808_frames import batch_body, extra, frame, location_body

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DATA = Path(__file__).parent.parent / "data" / "ingest"


def ctx(topic: str = "assetwatch/T1/telemetry", device: str = "T1", **kw: object) -> DecodeContext:
    return DecodeContext(topic, device, NOW, timedelta(hours=1), "m1", **kw)  # type: ignore[arg-type]


# --- JSON ------------------------------------------------------------------------
def test_json_object_and_array() -> None:
    one = jsonreading.decode(
        orjson.dumps(
            {
                "ts": "2026-03-02T08:59:00Z",
                "seq": 3,
                "lat": 31.2,
                "lon": 121.4,
                "ignition": True,
                "metrics": {"activity": 0.4},
                "extra": "ignored",
            }
        ),
        ctx(),
    )
    (r,) = one.groups[0].readings
    assert (r.device_id, r.seq, r.lat, r.ignition, dict(r.metrics)) == (
        "T1",
        3,
        31.2,
        True,
        {"activity": 0.4},
    )
    assert (r.source, r.topic, r.message_id, r.received_at, r.late) == (
        "json",
        "assetwatch/T1/telemetry",
        "m1",
        NOW,
        False,
    )
    many = jsonreading.decode(
        orjson.dumps([{"ts": 1772438400000}, {"ts": "2026-03-02T06:00:00+08:00"}]), ctx()
    )
    a, b = many.groups[0].readings
    assert a.ts == datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    assert b.ts == datetime(2026, 3, 1, 22, 0, tzinfo=UTC)
    assert b.late  # 11 hours behind its receipt


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"{", "json_syntax"),
        (b"[]", "empty_batch"),
        (b"42", "not_object"),
        (b'{"lat": 1}', "missing_ts"),
        (b'{"ts": "yesterday"}', "bad_ts"),
        (b'{"ts": "2026-03-02T08:00:00"}', "bad_ts"),
        (b'{"ts": 1772438400000, "lat": "31"}', "bad_field"),
        (b'{"ts": 1772438400000, "seq": 1.5}', "bad_field"),
        (b'{"ts": 1772438400000, "ignition": 1}', "bad_field"),
        (b'{"ts": 1772438400000, "metrics": {"a": "x"}}', "bad_field"),
        (b'{"ts": 1772438400000, "device_id": "T2"}', "device_mismatch"),
    ],
)
def test_json_rejects_name_the_problem(payload: bytes, code: str) -> None:
    with pytest.raises(DecodeError) as info:
        jsonreading.decode(payload, ctx())
    assert info.value.code == code


# --- JT/T 808 --------------------------------------------------------------------------
def test_jt808_location_with_alarms_and_extras() -> None:
    ts = datetime(2026, 3, 2, 8, 58, 30, tzinfo=UTC)
    alarm = 1 << 5 | 1 << 8 | 1 << 28 | 1 << 20
    body = location_body(
        ts,
        alarm=alarm,
        status=0b1111,
        lat=31.5,
        lon=121.25,
        extras=extra(0x01, struct.pack(">I", 123456))
        + extra(0x02, struct.pack(">H", 555))
        + extra(0x30, b"\x17")
        + extra(0x31, b"\x0b")
        + extra(0x12, b"\x01\x00\x00\x00\x07\x01"),
    )
    out = jt808.decode(frame(0x0200, body, serial=0x7E7D), ctx("assetwatch/T1/jt808"))
    (group,) = out.groups
    assert (group.kind, group.identifier) == ("jt808_phone", "013800000001")
    (r,) = group.readings
    assert r.ts == ts
    assert (r.lat, r.lon) == (-31.5, -121.25)  # south and west status bits
    assert (r.speed_kmh, r.heading_deg, r.alt_m) == (36.5, 90.0, 12.0)
    assert r.odometer_km == 12345.6
    assert r.sats == 11
    assert r.ignition is True
    assert dict(r.metrics) == {"fuel_l": 55.5, "signal": 23.0}
    assert set(r.alarms) == {"antenna_cut", "main_power_lost", "illegal_displacement", "area_out"}
    assert r.tamper is True
    assert r.ext_power is False


def test_jt808_unfixed_position_is_not_stored_and_2019_header() -> None:
    ts = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    body = location_body(ts, status=0b01)  # ACC on, no fix
    out = jt808.decode(frame(0x0200, body, version2019=True), ctx("assetwatch/T1/jt808"))
    (r,) = out.groups[0].readings
    assert out.groups[0].identifier == "013800000001"
    assert r.lat is None
    assert r.lon is None
    assert r.tamper is False


def test_jt808_blind_area_batch_and_heartbeat() -> None:
    t0 = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)
    items = [location_body(t0 + timedelta(minutes=i)) for i in range(3)]
    payload = frame(0x0704, batch_body(items, kind=1)) + frame(0x0002, b"", serial=2)
    out = jt808.decode(payload, ctx("assetwatch/T1/jt808"))
    assert [len(g.readings) for g in out.groups] == [3, 0]
    assert [r.ts for r in out.groups[0].readings] == [t0 + timedelta(minutes=i) for i in range(3)]
    assert all(r.late for r in out.groups[0].readings)


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"", "jt808_flag"),
        (b"\x7e\x7e", "jt808_empty"),
        (b"\x7e\x02\x00\x7e", "jt808_short"),
        (b"\x7e\x7d\x05" + b"\x00" * 14 + b"\x7e", "jt808_escape"),
    ],
)
def test_jt808_malformed(payload: bytes, code: str) -> None:
    with pytest.raises(DecodeError) as info:
        jt808.decode(payload, ctx("assetwatch/T1/jt808"))
    assert info.value.code == code


def test_jt808_bad_check_code_and_length() -> None:
    good = frame(0x0200, location_body(NOW))
    broken = good[:-2] + bytes([good[-2] ^ 0x55]) + good[-1:]
    with pytest.raises(DecodeError, match="check code"):
        jt808.decode(broken, ctx())
    with pytest.raises(DecodeError) as info:
        jt808.decode(frame(0x0200, location_body(NOW)[:20]), ctx())
    assert info.value.code == "jt808_short"


# --- AIS ---------------------------------------------------------------------------------
def test_ais_real_sample_and_multi_sentence_reassembly() -> None:
    dec = AisDecoder()
    readings = 0
    for line in (DATA / "ais_sample.nmea").read_bytes().splitlines():
        if b",,0*" in line:  # the sample's empty payloads: a clear error, not a crash
            with pytest.raises(DecodeError, match="does not decode"):
                dec.decode(line, ctx("assetwatch/S1/ais", "S1"))
            continue
        readings += dec.decode(line, ctx("assetwatch/S1/ais", "S1")).reading_count
    assert readings == 53
    # A type 5 (static data) message split over two MQTT messages: reassembled, no reading.
    first = b"!AIVDM,2,1,4,A,55O0W7`00001L@gCWGA2uItLth@DqtL5@F22220j1h742t0Ht0000000,0*08"
    second = b"!AIVDM,2,2,4,A,000000000000000,2*20"
    assert dec.decode(first, ctx("assetwatch/S1/ais", "S1")).groups == ()
    assert dec.pending_groups == 1
    assert dec.decode(second, ctx("assetwatch/S1/ais", "S1")).groups == ()
    assert dec.pending_groups == 0


def test_ais_tag_block_time_and_mmsi_identifier() -> None:
    line = b"\\s:2573135,c:1671620143*0B\\!AIVDM,1,1,,A,15NG6V0P01G?cFhE`R2IU?wn28R>,0*05"
    (group,) = AisDecoder().decode(line, ctx("assetwatch/S1/ais", "S1")).groups
    assert (group.kind, group.identifier) == ("mmsi", "367380120")
    (r,) = group.readings
    assert r.ts == datetime.fromtimestamp(1671620143, UTC)
    assert r.lat == pytest.approx(37.806948)
    assert r.heading_deg == pytest.approx(245.2)
    assert r.source == "ais"


# --- ChirpStack v4 ---------------------------------------------------------------------------
def _uplink(**obj: object) -> bytes:
    return orjson.dumps(
        {
            "deduplicationId": "3ac7e3c4-4401-4b8d-9386-a5c902f9202d",
            "time": "2026-03-02T08:59:58.000Z",
            "deviceInfo": {"devEui": "0102030405060708", "deviceProfileName": "collar-v1"},
            "fCnt": 17,
            "object": obj,
            "rxInfo": [{"gatewayId": "g1", "rssi": -101, "snr": 7.5}, {"rssi": -95, "snr": 3.0}],
        }
    )


def test_chirpstack_object_through_profile_mapping() -> None:
    mapping = {
        "lat": "gps.latitude",
        "lon": "gps.longitude",
        "metrics.activity": "act",
        "metrics.body_temp_c": "temp",
        "battery_v": "bat",
    }
    topic = "application/a1/device/0102030405060708/event/up"
    c = ctx(topic, "0102030405060708", profile_for=lambda eui: mapping)
    out = chirpstack.decode(
        _uplink(gps={"latitude": 45.1, "longitude": 7.6}, act=0.7, temp=38.6, bat=3.6), c
    )
    (r,) = out.groups[0].readings
    assert out.groups[0].identifier == "0102030405060708"
    assert (r.lat, r.lon, r.battery_v, r.seq) == (45.1, 7.6, 3.6, 17)
    assert dict(r.metrics) == {"activity": 0.7, "body_temp_c": 38.6, "rssi": -95.0, "snr": 7.5}
    assert r.ts == datetime(2026, 3, 2, 8, 59, 58, tzinfo=UTC)
    assert r.message_id == "3ac7e3c4-4401-4b8d-9386-a5c902f9202d"


def test_chirpstack_unknown_terminal_yields_an_identifier_without_readings() -> None:
    c = ctx(
        "application/a1/device/0102030405060708/event/up",
        "0102030405060708",
        profile_for=lambda eui: None,
    )
    (g,) = chirpstack.decode(_uplink(act=1), c).groups
    assert g.readings == ()
    with pytest.raises(DecodeError) as info:
        chirpstack.decode(
            _uplink(act="x"),
            ctx("t", "0102030405060708", profile_for=lambda e: {"metrics.a": "act"}),
        )
    assert info.value.code == "bad_field"


# --- ISO 15143-3 ---------------------------------------------------------------------------------
XML = b"""<?xml version="1.0"?>
<Fleet xmlns="http://standards.iso.org/iso/15143/-3" version="1">
  <Equipment>
    <EquipmentHeader><OEMName>CAT</OEMName><Model>320</Model><SerialNumber>SN-77</SerialNumber></EquipmentHeader>
    <Location datetime="2026-03-02T08:00:00Z"><Latitude>31.1</Latitude><Longitude>121.3</Longitude>
      <Altitude>100</Altitude><AltitudeUnits>foot</AltitudeUnits></Location>
    <CumulativeOperatingHours datetime="2026-03-02T08:00:00Z"><Hour>1520.5</Hour>
    </CumulativeOperatingHours>
    <CumulativeIdleHours datetime="2026-03-02T07:30:00Z"><Hour>300.25</Hour></CumulativeIdleHours>
    <FuelUsed datetime="2026-03-02T07:30:00Z"><FuelUnits>gallon</FuelUnits>
      <FuelConsumed>10</FuelConsumed></FuelUsed>
    <EngineStatus datetime="2026-03-02T08:05:00Z"><Running>false</Running></EngineStatus>
  </Equipment>
</Fleet>"""


def test_aemp_xml_each_value_at_its_own_time() -> None:
    out = aemp.decode(XML, ctx("assetwatch/E1/aemp", "E1"))
    (g,) = out.groups
    assert (g.kind, g.identifier, out.topic_bound) == ("aemp_serial", "SN-77", False)
    idle, pos, engine = g.readings
    assert idle.ts == datetime(2026, 3, 2, 7, 30, tzinfo=UTC)
    assert dict(idle.metrics) == {
        "idle_hours": 300.25,
        "fuel_used_l": pytest.approx(37.854, abs=1e-3),
    }
    assert (pos.lat, pos.lon, pos.engine_hours) == (31.1, 121.3, 1520.5)
    assert pos.alt_m == pytest.approx(30.48)
    assert engine.engine_on is False
    assert engine.ts == datetime(2026, 3, 2, 8, 5, tzinfo=UTC)


def test_aemp_json_and_hostile_xml() -> None:
    doc = {
        "Fleet": {
            "Equipment": [
                {
                    "EquipmentHeader": {"PIN": "PIN9"},
                    "CumulativeOperatingHours": {"Hour": 12, "datetime": "2026-03-02T08:00:00Z"},
                }
            ]
        }
    }
    (g,) = aemp.decode(orjson.dumps(doc), ctx("assetwatch/E1/aemp", "E1")).groups
    assert g.identifier == "PIN9"
    assert g.readings[0].engine_hours == 12.0
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]>'
        b"<Fleet>&b;</Fleet>"
    )
    with pytest.raises(DecodeError) as info:
        aemp.decode(bomb, ctx())
    assert info.value.code == "aemp_xml"
    with pytest.raises(DecodeError) as info:
        aemp.decode(
            b'{"Equipment": [{"EquipmentHeader": {"SerialNumber": "S"},'
            b' "Location": {"Latitude": 1}}]}',
            ctx(),
        )
    assert info.value.code == "missing_ts"
