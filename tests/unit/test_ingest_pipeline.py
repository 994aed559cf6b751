"""The per-message stages: validate, identify, dedupe (no broker, no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

from assetwatch.settings import Settings
from ingest.pipeline import Message, Pipeline, RecentKeys
from ingest.registry import snapshot_of, static_registry
from tests.jt808_frames import frame, location_body

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def pipeline(**kw: object) -> Pipeline:
    registry = static_registry(
        snapshot_of(
            [
                {"device_id": "T1"},
                {"device_id": "V1", "protocol": "jt808", "jt808_phone": "013800000001"},
                {"device_id": "E1", "protocol": "aemp", "aemp_serial": "SN-1"},
            ]
        )
    )
    return Pipeline(Settings(**kw), registry, clock=lambda: NOW)  # type: ignore[arg-type]


def msg(topic: str, payload: bytes) -> Message:
    return Message(topic, payload, NOW)


def test_stages_are_declared_in_order() -> None:
    assert [name for name, _ in pipeline().stages] == ["decode", "validate", "identify", "dedupe"]


def test_future_and_out_of_range_readings_are_dead_lettered_good_ones_kept() -> None:
    p = pipeline(max_future_skew_s=60)
    payload = orjson.dumps(
        [
            {"ts": (NOW - timedelta(seconds=5)).isoformat(), "seq": 1},
            {"ts": (NOW + timedelta(minutes=5)).isoformat(), "seq": 2},
            {"ts": NOW.isoformat(), "seq": 3, "fuel_pct": 140},
        ]
    )
    work = p.process(msg("assetwatch/T1/telemetry", payload))
    assert [r.seq for r in work.readings] == [1]
    (rej,) = work.rejected
    assert rej.stage == "validate"
    assert rej.reason.startswith("2 of 3 readings rejected")
    only_bad = p.process(
        msg("assetwatch/T1/telemetry", orjson.dumps({"ts": NOW.isoformat(), "lat": 1}))
    )
    assert only_bad.readings == []
    assert only_bad.rejected[0].code == "range:lon"


def test_poor_positions_are_dropped_not_the_reading() -> None:
    p = pipeline(ingest_max_hdop=5)
    payload = orjson.dumps(
        [
            {
                "ts": NOW.isoformat(),
                "seq": 1,
                "lat": 31.0,
                "lon": 121.0,
                "hdop": 9.5,
                "battery_v": 12.1,
            },
            {"ts": NOW.isoformat(), "seq": 2, "lat": 0.0, "lon": 0.0},
            {"ts": NOW.isoformat(), "seq": 3, "lat": 31.0, "lon": 121.0, "hdop": 1.0},
        ]
    )
    work = p.process(msg("assetwatch/T1/telemetry", payload))
    assert [(r.seq, r.lat) for r in work.readings] == [(1, None), (2, None), (3, 31.0)]
    assert work.readings[0].battery_v == 12.1
    assert work.position_dropped == 2


def test_identify_maps_protocol_identifiers_and_quarantines_unknown() -> None:
    p = pipeline()
    ts = NOW - timedelta(minutes=1)
    work = p.process(msg("assetwatch/V1/jt808", frame(0x0200, location_body(ts))))
    assert [r.device_id for r in work.readings] == ["V1"]
    # The frame's phone belongs to V1, not to the device the topic names.
    wrong = p.process(msg("assetwatch/T1/jt808", frame(0x0200, location_body(ts), serial=9)))
    assert wrong.rejected[0].stage == "identify"
    assert wrong.readings == []
    unknown = p.process(msg("assetwatch/X9/telemetry", orjson.dumps({"ts": ts.isoformat()})))
    assert unknown.readings == []
    assert unknown.rejected == []
    (q,) = unknown.quarantined
    assert (q.id_kind, q.identifier) == ("device_id", "X9")
    phone = p.process(
        msg("assetwatch/V2/jt808", frame(0x0200, location_body(ts), phone="013900000009"))
    )
    assert phone.quarantined[0].identifier == "013900000009"


def test_dedupe_drops_redeliveries() -> None:
    p = pipeline()
    body = orjson.dumps({"ts": NOW.isoformat(), "seq": 5})
    assert len(p.process(msg("assetwatch/T1/telemetry", body)).readings) == 1
    again = p.process(msg("assetwatch/T1/telemetry", body))
    assert again.readings == []
    assert again.duplicates == 1
    keys = RecentKeys(2)
    assert [keys.seen(k) for k in ("a", "b", "a", "c", "a")] == [False, False, True, False, False]


def test_bad_topics_are_rejected_at_decode() -> None:
    p = pipeline()
    for topic in (
        "assetwatch/T1/unknown",
        "assetwatch/bad id!/telemetry",
        "other/topic",
        "application/1/device/xyz/event/up",
    ):
        work = p.process(msg(topic, b"{}"))
        assert work.rejected[0].stage == "decode", topic
    big = pipeline(ingest_max_payload_bytes=10).process(msg("assetwatch/T1/telemetry", b"[" * 11))
    assert big.rejected[0].code == "too_large"
