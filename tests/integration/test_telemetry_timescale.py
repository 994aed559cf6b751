"""The TimescaleDB layout: hypertable, compression, continuous aggregate, same answers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import psycopg
import pytest

from assetwatch.settings import Settings
from telemetry.errors import TelemetryError
from telemetry.policies import apply_policies
from telemetry.queries import carry_forward, hourly_rollups, latest_states
from telemetry.rollups import materialize_rollups
from telemetry.store import ReadingWriter
from tests import telemetry_oracle as oracle
from tests.factories import T0, make_reading

pytestmark = [pytest.mark.integration, pytest.mark.timescale]

Conn = psycopg.Connection[tuple[object, ...]]


@pytest.fixture
def conn(timescale_db_url: str) -> Iterator[Conn]:
    with psycopg.connect(timescale_db_url) as c:
        yield c


def _one(conn: Conn, sql: str) -> object:
    row = conn.execute(sql).fetchone()
    assert row is not None
    return row[0]


def test_hypertable_compression_and_cagg(conn: Conn) -> None:
    settings = Settings(chunk_interval="6 hours", compress_after="3 days", retention="400 days")
    features = apply_policies(conn, settings)
    assert apply_policies(conn, settings) == features  # idempotent
    assert any("hypertable" in f for f in features)
    assert any("real-time" in f for f in features)
    assert _one(
        conn,
        "SELECT time_interval FROM timescaledb_information.dimensions"
        " WHERE hypertable_name = 'readings'",
    ) == timedelta(hours=6)
    assert _one(
        conn,
        "SELECT compression_enabled FROM timescaledb_information.hypertables"
        " WHERE hypertable_name = 'readings'",
    )
    assert (
        _one(
            conn,
            "SELECT segmentby FROM timescaledb_information.hypertable_compression_settings"
            " WHERE hypertable = 'readings'::regclass",
        )
        == "device_id"
    )
    jobs = conn.execute(
        "SELECT proc_name FROM timescaledb_information.jobs"
        " WHERE proc_name IN ('policy_compression', 'policy_retention',"
        " 'policy_refresh_continuous_aggregate') ORDER BY 1"
    ).fetchall()
    assert [j[0] for j in jobs] == [
        "policy_compression",
        "policy_refresh_continuous_aggregate",
        "policy_retention",
    ]
    apply_policies(conn, Settings())  # retention back off
    assert "retention off" in apply_policies(conn, Settings())
    conn.commit()


def test_rollups_and_dedup_on_compressed_chunks(conn: Conn, timescale_db_url: str) -> None:
    writer = ReadingWriter(Settings())
    rs = [
        make_reading(
            ts=T0 + timedelta(minutes=7 * i),
            seq=i,
            lat=31.0 + i * 1e-3,
            speed_kmh=float(i % 3) * 10,
            ignition=i % 4 != 0,
            engine_hours=1000 + i * 0.1,
        )
        for i in range(40)
    ]
    writer.write(conn, rs[::2])
    conn.commit()
    writer.write(conn, rs[1::2])  # the buffer arrives after the newer fixes
    conn.commit()
    assert latest_states(conn)["dev-1"].reading.seq == 39

    def check() -> None:
        got = hourly_rollups(conn, ["dev-1"], T0, T0 + timedelta(hours=6))
        want = carry_forward(oracle.hourly_rows(rs))
        assert len(got) == len(want) > 3
        for g, w in zip(got, want, strict=True):
            for field in g.__dataclass_fields__:
                assert oracle.close(getattr(g, field), getattr(w, field)), (field, g, w)

    check()  # real-time aggregation, nothing materialized yet
    conn.commit()  # end the read transaction: compression needs the chunk locks
    with psycopg.connect(timescale_db_url, autocommit=True) as auto:
        materialize_rollups(auto)
        auto.execute("SELECT compress_chunk(c) FROM show_chunks('readings') c")
    check()  # materialized
    conn.commit()
    result = writer.write(conn, rs[:5])  # redelivered into compressed chunks
    conn.commit()
    assert result.duplicates == 5
    assert _one(conn, "SELECT count(*) FROM readings") == 40


def test_refresh_needs_no_open_transaction(conn: Conn) -> None:
    writer = ReadingWriter(Settings())
    rs = [make_reading(ts=T0 + timedelta(minutes=10 * i), seq=i) for i in range(12)]
    writer.write(conn, rs)
    # Inside the caller's transaction TimescaleDB cannot refresh: a clear error.
    with pytest.raises(TelemetryError, match="commit first"):
        materialize_rollups(conn, now=T0 + timedelta(days=1))
    conn.rollback()
    writer.write(conn, rs)
    conn.commit()
    # With no transaction open, a non-autocommit connection works and stays one.
    materialize_rollups(conn, now=T0 + timedelta(days=1))
    assert conn.autocommit is False
    got = hourly_rollups(conn, ["dev-1"], T0, T0 + timedelta(hours=2))
    assert sum(h.readings for h in got) == 12
    conn.commit()


def test_detect_role_passes_and_forgets_late_marks(conn: Conn, timescale_db_url: str) -> None:
    """The detect role refreshes before each pass (outside a transaction) on TimescaleDB."""
    import threading

    from assetwatch.run import run_detect

    writer = ReadingWriter(Settings())
    writer.write(conn, [make_reading(ts=T0 + timedelta(minutes=i), seq=i) for i in range(5)])
    conn.commit()
    assert _one(conn, "SELECT count(*) FROM rollup_dirty") == 1  # an hour long past: marked
    settings = Settings(database_url=timescale_db_url, detect_clock="event", detect_interval_s=0.2)
    stop, ready, failed = threading.Event(), threading.Event(), []

    def role() -> None:
        try:
            run_detect(settings, stop, ready)
        except Exception as exc:  # the role's failure is the test's
            failed.append(exc)

    thread = threading.Thread(target=role)
    thread.start()
    assert ready.wait(30)
    stop.wait(1.0)  # a few passes
    stop.set()
    thread.join(30)
    assert failed == []
    conn.commit()
    assert _one(conn, "SELECT count(*) FROM rollup_dirty") == 0
    got = hourly_rollups(conn, ["dev-1"], T0, T0 + timedelta(hours=1))
    assert sum(h.readings for h in got) == 5
