"""The column-at-a-time binary COPY encoder against a real PostgreSQL: every field round-trips."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assetwatch.settings import Settings
from telemetry.batch import dedup_key
from telemetry.errors import ReadingRangeError, TelemetryError
from telemetry.model import ALARMS, SOURCES, Reading
from telemetry.store import ReadingWriter
from tests.factories import T0, make_reading

pytestmark = pytest.mark.integration

Conn = psycopg.Connection[tuple[object, ...]]

_FIELDS = (
    "device_id", "ts", "received_at", "seq", "lat", "lon", "alt_m", "speed_kmh", "heading_deg",
    "hdop", "sats", "ignition", "engine_on", "engine_hours", "odometer_km", "fuel_pct",
    "battery_v", "ext_power", "tamper", "alarms", "metrics", "source", "topic", "message_id",
    "late",
)  # fmt: skip
_ZONES = (UTC, timezone(timedelta(hours=8)), timezone(-timedelta(hours=5, minutes=30)))
_counter = itertools.count()


# PostgreSQL text holds no NUL character.
_TEXT = st.characters(exclude_characters="\x00", exclude_categories=["Cs"])


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


def _float(low: float, high: float) -> st.SearchStrategy[float | None]:
    return _maybe(st.floats(low, high, allow_nan=False, allow_infinity=False))


@st.composite
def readings(draw: st.DrawFn) -> Reading:
    zone = draw(st.sampled_from(_ZONES))
    micros = draw(st.integers(0, 7 * 365 * 86_400 * 10**6))  # 2018 to 2024
    ts = (datetime(2018, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)).astimezone(zone)
    has_position = draw(st.booleans())
    return Reading(
        device_id=draw(st.sampled_from(["T1", "truck-0002", "ä-名"])),
        ts=ts,
        seq=draw(_maybe(st.integers(0, 2**63 - 1))),
        lat=draw(st.floats(-90, 90)) if has_position else None,
        lon=draw(st.floats(-180, 180)) if has_position else None,
        alt_m=draw(_float(-1000, 100_000)),
        speed_kmh=draw(_float(0, 2000)),
        heading_deg=draw(_float(0, 360)),
        hdop=draw(_float(0, 100)),
        sats=draw(_maybe(st.integers(0, 255))),
        ignition=draw(_maybe(st.booleans())),
        engine_on=draw(_maybe(st.booleans())),
        engine_hours=draw(_float(0, 1e9)),
        odometer_km=draw(_float(0, 1e9)),
        fuel_pct=draw(_float(0, 100)),
        battery_v=draw(_float(0, 1000)),
        ext_power=draw(_maybe(st.booleans())),
        tamper=draw(_maybe(st.booleans())),
        alarms=tuple(draw(st.lists(st.sampled_from(sorted(ALARMS)), max_size=3))),
        metrics=draw(
            st.dictionaries(
                st.text(_TEXT, min_size=1, max_size=8),
                st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
                max_size=3,
            )
        ),
        received_at=draw(_maybe(st.just(ts + timedelta(seconds=3)))),
        source=draw(st.sampled_from(sorted(SOURCES))),
        topic=draw(_maybe(st.text(_TEXT, max_size=20))),
        message_id=draw(_maybe(st.text(_TEXT, max_size=12))),
        late=draw(st.booleans()),
    )


def _stored(conn: Conn, devices: list[str]) -> dict[tuple[str, datetime, int], dict[str, Any]]:
    cols = ", ".join((*_FIELDS, "dedup_key"))
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute(f"SELECT {cols} FROM readings WHERE device_id = ANY(%s)", (devices,))
        return {(r["device_id"], r["ts"], r["dedup_key"]): r for r in cur.fetchall()}


def _expected(r: Reading) -> dict[str, Any]:
    out = {name: getattr(r, name) for name in _FIELDS}
    out["alarms"] = list(r.alarms) if r.alarms else None
    out["metrics"] = dict(r.metrics) if r.metrics else None
    return out


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(readings(), min_size=1, max_size=40))
def test_every_field_round_trips(module_db_url: str, batch: list[Reading]) -> None:
    # Devices of this example only, so examples share one database.
    tag = f"x{next(_counter)}-"
    batch = [Reading(**{**_expected(r), "device_id": tag + r.device_id,
                        "alarms": r.alarms, "metrics": r.metrics}) for r in batch]  # fmt: skip
    with psycopg.connect(module_db_url) as conn:
        result = ReadingWriter(Settings()).write(conn, batch)
        conn.commit()
        stored = _stored(conn, sorted({r.device_id for r in batch}))
    firsts: dict[tuple[str, datetime, int], Reading] = {}
    for r in batch:
        firsts.setdefault((r.device_id, r.ts, dedup_key(r)), r)
    assert len(result.inserted) == len(firsts) == len(stored)
    for key, r in firsts.items():
        row = stored[key]
        assert row.pop("dedup_key") == key[2]
        for name, want in _expected(r).items():
            assert row[name] == want, (name, row[name], want)


def test_nan_is_refused_even_when_the_caller_says_checked(db_url: str) -> None:
    writer = ReadingWriter(Settings())
    with psycopg.connect(db_url) as conn:
        with pytest.raises(ReadingRangeError) as info:
            writer.write(conn, [make_reading(hdop=float("nan"))], checked=True)
        assert info.value.field == "hdop"


def test_store_batches_commits_each_batch_in_order(db_url: str) -> None:
    writer = ReadingWriter(Settings())
    batches = [
        [make_reading(ts=T0 + timedelta(minutes=10 * b + i), seq=10 * b + i) for i in range(10)]
        for b in range(3)
    ]
    bad = [make_reading(ts=T0 + timedelta(hours=5), seq=500, lat=95.0)]
    with psycopg.connect(db_url) as conn:
        results = writer.store_batches(conn, [*batches, bad, batches[0]])
        assert [len(next(results).inserted) for _ in range(3)] == [10, 10, 10]
        with pytest.raises(ReadingRangeError) as info:
            next(results)
        assert info.value.field == "lat"
        # Every batch before the bad one is committed, seen from another session.
        with psycopg.connect(db_url) as other:
            assert other.execute("SELECT count(*) FROM readings").fetchone() == (30,)
            assert other.execute("SELECT seq FROM latest_state").fetchone() == (29,)
        again = list(writer.store_batches(conn, batches[1:]))
        assert [(len(r.inserted), r.duplicates) for r in again] == [(0, 10), (0, 10)]
        conn.execute("SELECT 1")  # a transaction is open now
        with pytest.raises(TelemetryError, match="idle connection"):
            next(writer.store_batches(conn, batches))


def test_store_batches_reads_its_input_lazily_and_passes_empty_batches(db_url: str) -> None:
    writer = ReadingWriter(Settings())
    taken: list[int] = []

    def source() -> Iterator[list[Reading]]:
        for b in range(4):
            taken.append(b)
            yield [] if b == 1 else [make_reading(ts=T0 + timedelta(minutes=b), seq=b)]

    with psycopg.connect(db_url) as conn:
        results = writer.store_batches(conn, source())
        first = next(results)
        assert len(first.inserted) == 1
        assert taken == [0, 1]  # one batch ahead, not the whole input
        rest = list(results)
        assert [(len(r.inserted), r.duplicates) for r in rest] == [(0, 0), (1, 0), (1, 0)]
        assert taken == [0, 1, 2, 3]
        assert conn.execute("SELECT array_agg(seq ORDER BY seq) FROM readings").fetchone() == (
            [0, 2, 3],
        )
