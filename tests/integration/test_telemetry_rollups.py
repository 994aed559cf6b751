"""Hourly rollups equal a brute-force Python aggregate, whatever the arrival order."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assetwatch.settings import Settings
from telemetry.model import Reading
from telemetry.queries import carry_forward, hourly_rollups
from telemetry.rollups import materialize_rollups
from telemetry.store import ReadingWriter
from tests import telemetry_oracle as oracle

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def _opt(s: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.one_of(st.none(), s)


@st.composite
def readings(draw: st.DrawFn) -> list[Reading]:
    n = draw(st.integers(1, 30))
    out = []
    for i in range(n):
        dev = draw(st.sampled_from(["a", "b"]))
        ts = T0 + timedelta(seconds=draw(st.integers(0, 4 * 3600)) // 15 * 15)
        has_pos = draw(st.booleans())
        metrics = {}
        if draw(st.booleans()):
            metrics["power_kw"] = draw(st.sampled_from([0.0, 1.5, 7.0]))
            metrics["energy_kwh"] = float(draw(st.integers(0, 500)))
        if draw(st.booleans()):
            metrics["activity"] = draw(st.floats(0, 100, allow_nan=False))
        out.append(
            Reading(
                device_id=dev,
                ts=ts,
                seq=draw(_opt(st.just(i))),  # type: ignore[arg-type]
                lat=draw(st.floats(30, 31)) if has_pos else None,
                lon=draw(st.floats(120, 121)) if has_pos else None,
                speed_kmh=draw(_opt(st.sampled_from([0.0, 2.9, 3.0, 40.0]))),  # type: ignore[arg-type]
                ignition=draw(_opt(st.booleans())),  # type: ignore[arg-type]
                engine_hours=draw(_opt(st.floats(0, 1e4))),  # type: ignore[arg-type]
                battery_v=draw(_opt(st.floats(10, 14))),  # type: ignore[arg-type]
                metrics=metrics,
            )
        )
    return out


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(db_url) as c:
        yield c


def _prefixed(rs: list[Reading], prefix: str) -> list[Reading]:
    return [replace(r, device_id=prefix + r.device_id) for r in rs]


def _check(
    conn: psycopg.Connection[tuple[object, ...]], rs: list[Reading], devs: list[str]
) -> None:
    got = hourly_rollups(conn, devs, T0 - timedelta(hours=1), T0 + timedelta(hours=6))
    want = carry_forward(oracle.hourly_rows(rs))
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        for field in g.__dataclass_fields__:
            assert oracle.close(getattr(g, field), getattr(w, field)), (field, g, w)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rs=readings(), order=st.randoms(use_true_random=False), batch=st.integers(1, 7))
def test_rollups_equal_brute_force(
    conn: psycopg.Connection[tuple[object, ...]],
    rs: list[Reading],
    order: object,
    batch: int,
) -> None:
    prefix = uuid.uuid4().hex[:8] + "-"
    rs = _prefixed(rs, prefix)
    shuffled = list(rs) + rs[: len(rs) // 3]  # redeliveries
    order.shuffle(shuffled)  # type: ignore[attr-defined]
    writer = ReadingWriter(Settings())
    for i in range(0, len(shuffled), batch):
        writer.write(conn, shuffled[i : i + batch])
        conn.commit()
    devs = [prefix + "a", prefix + "b"]
    _check(conn, rs, devs)  # open and late buckets computed live
    conn.commit()  # TimescaleDB refreshes its aggregate outside a transaction only
    materialize_rollups(conn, now=T0 + timedelta(days=1))
    conn.commit()
    _check(conn, rs, devs)  # the same once folded into the table


def test_late_reading_reaches_a_materialized_bucket(
    conn: psycopg.Connection[tuple[object, ...]],
) -> None:
    writer = ReadingWriter(Settings())
    rs = [
        Reading(
            device_id="late", ts=T0 + timedelta(minutes=m), seq=m, lat=30.0, lon=120.0 + m / 1000
        )
        for m in range(0, 180, 10)
    ]
    writer.write(conn, rs)
    conn.commit()  # TimescaleDB refreshes its aggregate outside a transaction only
    materialize_rollups(conn, now=T0 + timedelta(days=1))
    conn.commit()
    late = Reading(device_id="late", ts=T0 + timedelta(minutes=15), seq=999, lat=30.1, lon=120.0)
    writer.write(conn, [late])
    conn.commit()
    _check(conn, [*rs, late], ["late"])
    conn.commit()
    materialize_rollups(conn, now=T0 + timedelta(days=1))
    conn.commit()
    _check(conn, [*rs, late], ["late"])


def test_deleted_and_corrected_readings_leave_the_rollups(
    conn: psycopg.Connection[tuple[object, ...]],
) -> None:
    """A correction or a deletion of stored readings reaches materialized hours (both layouts)."""
    writer = ReadingWriter(Settings())
    rs = [
        Reading(device_id="fix", ts=T0 + timedelta(minutes=m), seq=m, lat=30.0, lon=120.0)
        for m in range(0, 180, 10)
    ]
    writer.write(conn, rs)
    conn.commit()
    materialize_rollups(conn, now=T0 + timedelta(days=1))
    conn.commit()
    conn.execute(
        "DELETE FROM readings WHERE device_id = 'fix' AND ts < %s", (T0 + timedelta(hours=1),)
    )
    conn.execute("UPDATE readings SET speed_kmh = 40 WHERE device_id = 'fix' AND seq = 100")
    conn.commit()
    materialize_rollups(conn, now=T0 + timedelta(days=1))
    conn.commit()
    kept = [
        replace(r, speed_kmh=40.0) if r.seq == 100 else r
        for r in rs
        if r.ts >= T0 + timedelta(hours=1)
    ]
    _check(conn, kept, ["fix"])
