"""The per-message stages: validate, identify, dedupe (no broker, no database)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import orjson
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from assetwatch.settings import Settings
from ingest.errors import RejectError
from ingest.pipeline import Message, Pipeline, RecentKeys, Work
from ingest.registry import snapshot_of, static_registry
from telemetry.model import FIELD_BOUNDS
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
    # Generations of two keys: "a" is remembered while its generation is the
    # newer or the older one, and forgotten when a third generation starts.
    keys = RecentKeys(4)
    assert [keys.seen(k) for k in ("a", "b", "a", "c", "d", "a", "d")] == [
        False, False, True, False, False, False, True
    ]  # fmt: skip
    assert [keys.seen(k) for k in ("e", "f", "a", "c")] == [False, False, True, False]
    assert keys.unseen(["g", "h"]) is None
    assert keys.unseen(["g", "i", "i", "e"]) == [1, 3]
    nothing = RecentKeys(0)
    assert nothing.unseen(["a"]) is None
    assert nothing.unseen(["a", "a"]) == [0, 1]


def test_recent_keys_window_keeps_its_promise() -> None:
    """A key added among the last size/2 new keys is always caught; a new key never is."""
    import random

    rng = random.Random(7)
    size = 50
    recent = RecentKeys(size)
    added: list[int] = []  # every key remembered, in order
    for _ in range(2000):
        keys = [rng.randrange(150) for _ in range(rng.randrange(1, 8))]
        got = recent.unseen(keys)
        fresh = set(range(len(keys)) if got is None else got)
        for n, key in enumerate(keys):
            if key in added[-(size // 2) :] or key in keys[:n]:
                assert n not in fresh, (key, added[-(size // 2) :])
            elif key not in added:
                assert n in fresh
            if n in fresh:
                added.append(key)
        # Bounded: a generation overfills by at most one message's keys (< 8 here).
        assert len(recent._new) + len(recent._old) <= size + 2 * 7


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


_ANY = st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-(10**6), 10**6))


def _near(low: float, high: float) -> st.SearchStrategy[float | int]:
    """Mostly in range (a doc tells the paths apart only when one field is out)."""
    edges = [low, high, low - 0.5, high + 0.5, math.nextafter(low, -math.inf),
             math.nextafter(high, math.inf), (low + high) / 2]  # fmt: skip
    return st.floats(low, high) | st.sampled_from(edges) | st.integers(int(low), int(low) + 2)


_BOUNDED = {name: _near(low, min(high, 1e300)) for name, low, high in FIELD_BOUNDS}
_DOCS = st.fixed_dictionaries(
    {
        "ts": st.just("2026-03-02T08:59:00Z")
        | st.sampled_from(
            [
                "2026-03-02T09:04:59Z",  # within the default skew
                "2026-03-02T12:00:00Z",  # too far ahead
                "1999-12-31T23:59:59Z",
                "2000-01-01T00:00:00Z",
            ]
        ),
        # Both keys always, as a real fix has them (null for no fix).
        "lat": st.none() | _BOUNDED["lat"],
        "lon": st.none() | _BOUNDED["lon"],
    },
    optional={
        **{name: v for name, v in _BOUNDED.items() if name not in ("lat", "lon", "sats")},
        "sats": st.sampled_from([-1, 0, 3, 255, 256]) | st.integers(0, 255) | _ANY,
        "seq": st.sampled_from([-1, 0, 2**63 - 1, 2**63]) | st.integers(-5, 2**40),
        "metrics": st.dictionaries(
            st.sampled_from(["", "a" * 64, "a" * 65, "power_kw"]) | st.text(max_size=3),
            st.floats(-9, 9) | st.sampled_from([1e308, -1e308, 1.7976931348623157e308]),
            max_size=3,
        ),
    },
)


@hsettings(max_examples=2000, deadline=None)
@given(st.lists(_DOCS, min_size=1, max_size=3))
def test_validate_is_the_same_whether_the_decoder_checked_ranges(docs: list[object]) -> None:
    """msgspec's range constraints (Decoded.ranges_checked) stand in for the checks exactly."""
    p = pipeline()
    payload = orjson.dumps(docs)

    def run(forget: bool) -> object:
        work = Work(msg("assetwatch/T1/telemetry", payload))
        try:
            work = p.decode(work)
        except RejectError as exc:
            return ("decode", exc.code, exc.reason)
        assert work.decoded is not None
        if forget:
            work.decoded.ranges_checked = False
        try:
            work = p.validate(work)
        except RejectError as exc:
            return ("validate", exc.code, exc.reason)
        return work.readings, [(r.code, r.reason) for r in work.rejected], work.position_dropped

    assert run(False) == run(True)
