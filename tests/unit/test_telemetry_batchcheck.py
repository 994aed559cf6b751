"""The column-at-a-time batch check and batch preparation agree with the per-reading rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assetwatch.settings import Settings
from telemetry.batch import dedup_key, prepare_batch
from telemetry.errors import ReadingRangeError
from telemetry.model import Reading, check_reading, check_readings
from telemetry.store import ReadingWriter
from tests.factories import T0, make_reading

NOW = datetime(2026, 3, 3, tzinfo=UTC)
SKEW = timedelta(minutes=5)

# Values per field: mostly fine, sometimes absent, sometimes bad.
_NUMBER = st.one_of(
    st.none(),
    st.floats(min_value=0.0, max_value=50.0),
    st.sampled_from([float("nan"), float("inf"), -1.0, 1e9]),
)
_FIELDS: dict[str, Any] = {
    "lat": st.one_of(st.none(), st.floats(-90, 90), st.sampled_from([91.0, float("nan")])),
    "alt_m": _NUMBER,
    "speed_kmh": _NUMBER,
    "heading_deg": _NUMBER,
    "sats": st.one_of(st.none(), st.integers(0, 300)),
    "engine_hours": _NUMBER,
    "fuel_pct": _NUMBER,
    "seq": st.one_of(st.none(), st.integers(-2, 2**64)),
    "ts": st.sampled_from([T0, NOW + timedelta(hours=1), datetime(1999, 1, 1, tzinfo=UTC)]),
    "metrics": st.sampled_from([{}, {"power_kw": 3.0}, {"power_kw": float("nan")}, {"": 1.0}]),
    "alarms": st.sampled_from([(), ("stolen",), ("nonsense",)]),
    "source": st.sampled_from(["json", "ais", "telex"]),
}


@st.composite
def _batches(draw: st.DrawFn) -> list[Reading]:
    n = draw(st.integers(32, 80))
    bad = draw(st.lists(st.integers(0, n - 1), max_size=3))
    out = []
    for i in range(n):
        kw: dict[str, Any] = {"seq": i, "ts": T0 + timedelta(seconds=i)}
        if i in bad:
            name = draw(st.sampled_from(sorted(_FIELDS)))
            kw[name] = draw(_FIELDS[name])
        if draw(st.booleans()):
            kw["alt_m"] = None
        out.append(make_reading(**kw))
    return out


def _first_error(rs: list[Reading]) -> str | None:
    for r in rs:
        try:
            check_reading(r, now=NOW, max_future_skew=SKEW)
        except ReadingRangeError as exc:
            return exc.field
    return None


@settings(max_examples=150, deadline=None)
@given(_batches())
def test_batch_check_matches_the_per_reading_check(rs: list[Reading]) -> None:
    expected = _first_error(rs)
    if expected is None:
        check_readings(rs, now=NOW, max_future_skew=SKEW)
    else:
        with pytest.raises(ReadingRangeError) as info:
            check_readings(rs, now=NOW, max_future_skew=SKEW)
        assert info.value.field == expected
    good, bad = ReadingWriter(Settings(), clock=lambda: NOW).split(rs)
    assert len(good) + len(bad) == len(rs)
    assert [r.reading for r in bad] == [r for r in rs if _first_error([r]) is not None]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.integers(0, 5),
            st.one_of(st.none(), st.integers(0, 3)),
            st.one_of(st.none(), st.integers(0, 9)),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_prepare_matches_a_per_reading_reference(
    spec: list[tuple[str, int, int | None, int | None]],
) -> None:
    rs = [
        make_reading(
            device_id=d,
            ts=T0 + timedelta(minutes=30 * t),
            seq=seq,
            received_at=None if rx is None else T0 + timedelta(minutes=rx),
            metrics={"power_kw": float(t)} if t % 2 else {},
        )
        for d, t, seq, rx in spec
    ]
    batch = prepare_batch(rs)
    # Reference: first occurrence of each (device, ts, key); newest (ts, key) per
    # device; newest receive time per device; every (device, hour) touched.
    seen: dict[tuple[str, datetime, int], Reading] = {}
    for r in rs:
        seen.setdefault((r.device_id, r.ts, dedup_key(r)), r)
    assert batch.readings == tuple(seen.values())
    newest: dict[str, tuple[datetime, int]] = {}
    received: dict[str, datetime] = {}
    for (d, ts, key), r in seen.items():
        newest[d] = max(newest.get(d, (ts, key)), (ts, key))
        if r.received_at is not None:
            received[d] = max(received.get(d, r.received_at), r.received_at)
    got = {d: batch.readings[i] for d, i in batch.newest.items()}
    assert {d: (r.ts, batch.keys[batch.readings.index(r)]) for d, r in got.items()} == newest
    assert batch.last_received == received
    assert batch.keys == [k for _, _, k in seen]
    # COPY order: the unique index's key order (device id, event time, key)
    assert sorted(batch.order) == list(range(len(batch.readings)))
    assert [
        (batch.readings[i].device_id, batch.readings[i].ts, batch.keys[i]) for i in batch.order
    ] == sorted(seen)
    assert set(zip(batch.buckets_device, batch.buckets_hour, strict=True)) == {
        (d, int(ts.timestamp()) // 3600) for d, ts, _ in seen
    }
