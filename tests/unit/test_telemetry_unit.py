"""Pure parts of the telemetry store: keys, batch preparation, geometry, day sums."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from telemetry.batch import dedup_key, prepare_batch
from telemetry.errors import ReadingRangeError
from telemetry.geo import haversine_m, simplify_indices
from telemetry.model import check_readings
from telemetry.queries import carry_forward, summarize_days
from tests.factories import T0, make_reading

NOW = datetime(2026, 3, 3, tzinfo=UTC)


def test_dedup_key_is_seq_or_a_stable_content_hash() -> None:
    assert dedup_key(make_reading(seq=42)) == 42
    a = make_reading(seq=None, received_at=T0, topic="x")
    b = make_reading(seq=None, received_at=T0 + timedelta(hours=1), topic="y")
    c = make_reading(seq=None, lat=1.0)
    assert dedup_key(a) == dedup_key(b) != dedup_key(c)
    assert -(2**63) <= dedup_key(a) < 2**63


def test_prepare_picks_newest_by_event_time_and_drops_repeats() -> None:
    old = make_reading(ts=T0, seq=1, received_at=T0 + timedelta(hours=5))
    new = make_reading(ts=T0 + timedelta(hours=2), seq=2, received_at=T0 + timedelta(hours=2))
    batch = prepare_batch([new, old, old, make_reading(device_id="d2", seq=9)])
    assert batch.readings == (new, old, make_reading(device_id="d2", seq=9))
    assert batch.readings[batch.newest["dev-1"]] == new
    # the newest receipt, whatever the event time
    assert batch.last_received["dev-1"] == old.received_at
    assert sorted(zip(batch.buckets_device, batch.buckets_hour, strict=True)) == sorted(
        [("dev-1", int(T0.timestamp()) // 3600), ("dev-1", int(T0.timestamp()) // 3600 + 2),
         ("d2", int(T0.timestamp()) // 3600)]
    )  # fmt: skip


@pytest.mark.parametrize(
    ("field", "value"),
    [("lat", float("-inf")), ("sats", 256), ("alt_m", float("nan")), ("ts", NOW + timedelta(1))],
)
def test_batch_check_names_the_field(field: str, value: object) -> None:
    rs = [make_reading(), make_reading(**{field: value})]
    with pytest.raises(ReadingRangeError) as info:
        check_readings(rs, now=NOW, max_future_skew=timedelta(minutes=5))
    assert info.value.field == field


def test_haversine_one_degree_of_latitude() -> None:
    assert haversine_m(0.0, 0.0, 1.0, 0.0) == pytest.approx(111_195, rel=1e-4)


def test_simplify_keeps_corners_and_ends() -> None:
    line = [(31.0 + i * 1e-3, 121.0 + (i % 2) * 1e-6) for i in range(20)]
    line += [(31.019, 121.0 + i * 1e-3) for i in range(1, 20)]
    keep = simplify_indices(line, 10.0)
    assert keep == [0, 19, 38]
    exact = simplify_indices(line, 0.0)  # the jittered leg is kept, the straight one is not
    assert exact == [*range(20), 38]


def _row(bucket: datetime, **kw: object) -> tuple[object, ...]:
    base: list[object] = ["d", bucket, 1, 0.0, 0.0, 0.0, None, bucket, bucket]
    base += [kw.get("flat"), kw.get("flon"), kw.get("llat"), kw.get("llon")]
    base += [kw.get("eh0"), kw.get("eh1"), None, None, None, None, None, None, None, None]
    base += [None, None, None, None]
    return tuple(base)


def test_carry_forward_adds_boundary_segment_and_counter_increase() -> None:
    h1, h30 = T0 + timedelta(hours=1), T0 + timedelta(hours=30)
    rows = [
        _row(T0, flat=30.0, flon=120.0, llat=30.0, llon=120.0, eh0=10.0, eh1=10.5),
        _row(h1, flat=30.01, flon=120.0, llat=30.01, llon=120.0, eh0=10.7, eh1=11.0),
        _row(h30, flat=31.0, flon=120.0, llat=31.0, llon=120.0, eh0=20.0, eh1=20.0),
    ]
    h = carry_forward(rows)
    assert h[0].distance_m == 0.0
    assert h[0].engine_hours_delta == pytest.approx(0.5)
    assert h[1].distance_m == pytest.approx(haversine_m(30.0, 120.0, 30.01, 120.0))
    assert h[1].engine_hours_delta == pytest.approx(0.5)  # 10.5 -> 11.0, not 10.7 -> 11.0
    assert h[2].distance_m == 0.0  # more than 24 h later: not attributed
    assert h[2].engine_hours_delta == 0.0
    days = summarize_days(h)
    assert [d.active_hours for d in days] == [2, 1]
    assert days[0].engine_hours == pytest.approx(1.0)


def test_copy_statements_list_the_encoders_columns() -> None:
    import re

    from telemetry.copybin import LATEST_COLUMNS, READING_COLUMNS
    from telemetry.sqlfiles import query

    def columns(name: str) -> tuple[str, ...]:
        found = re.search(r"COPY \w+ \(([^)]*)\) FROM STDIN", query("telemetry", name))
        assert found, name
        return tuple(c.strip() for c in found.group(1).split(","))

    assert columns("readings_copy") == columns("staging_copy") == READING_COLUMNS
    assert columns("latest_copy") == LATEST_COLUMNS
