"""The bulk writer against a real PostgreSQL: dedup, latest by event time, rejects."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from assetwatch.settings import Settings
from telemetry.deadletters import DeadLetter, dead_letter, dead_letters
from telemetry.errors import ReadingRangeError
from telemetry.queries import latest_states, track
from telemetry.store import ReadingWriter
from tests.factories import T0, make_reading

pytestmark = pytest.mark.integration

Conn = psycopg.Connection[tuple[object, ...]]


@pytest.fixture
def conn(db_url: str) -> Iterator[Conn]:
    with psycopg.connect(db_url) as c:
        yield c


@pytest.fixture
def writer() -> ReadingWriter:
    return ReadingWriter(Settings())


def _count(conn: Conn, device: str = "dev-1") -> int:
    row = conn.execute("SELECT count(*) FROM readings WHERE device_id = %s", (device,)).fetchone()
    assert row is not None
    value = row[0]
    assert isinstance(value, int)
    return value


def test_duplicates_are_stored_once(conn: Conn, writer: ReadingWriter) -> None:
    rs = [make_reading(ts=T0 + timedelta(minutes=i), seq=i) for i in range(10)]
    first = writer.write(conn, rs + rs[:3])  # duplicates inside one batch
    conn.commit()
    assert (len(first.inserted), first.duplicates) == (10, 3)
    again = writer.write(conn, [*rs[5:], make_reading(ts=T0 + timedelta(hours=1), seq=99)])
    conn.commit()
    assert again.duplicates == 5
    assert [r.seq for r in again.inserted] == [99]
    assert _count(conn) == 11


def test_same_content_without_seq_is_a_duplicate(conn: Conn, writer: ReadingWriter) -> None:
    r = make_reading(seq=None, ts=T0)
    redelivered = make_reading(seq=None, ts=T0, received_at=T0 + timedelta(minutes=9))
    other = make_reading(seq=None, ts=T0, lat=31.5)  # same instant, different content
    result = writer.write(conn, [r])
    result2 = writer.write(conn, [redelivered, other])
    conn.commit()
    assert len(result.inserted) == 1
    assert (result2.duplicates, result2.inserted) == (1, (other,))
    assert _count(conn) == 2


def test_late_reading_does_not_move_latest(conn: Conn, writer: ReadingWriter) -> None:
    new = make_reading(ts=T0 + timedelta(hours=2), seq=20, lat=31.3, received_at=T0)
    old = make_reading(ts=T0, seq=1, lat=31.0, received_at=T0 + timedelta(hours=3), late=True)
    writer.write(conn, [new])
    conn.commit()
    writer.write(conn, [old])
    conn.commit()
    state = latest_states(conn, ["dev-1"])["dev-1"]
    assert state.reading.ts == new.ts
    assert state.reading.lat == 31.3
    assert state.last_received_at == old.received_at  # it did report, late
    newer = make_reading(ts=T0 + timedelta(hours=3), seq=30, lat=31.4)
    writer.write(conn, [old, newer])
    conn.commit()
    assert latest_states(conn)["dev-1"].reading.seq == 30


def test_two_batches_in_one_transaction_each_update_latest_once(
    conn: Conn, writer: ReadingWriter
) -> None:
    """The per-session tables are emptied at commit (ON COMMIT DELETE ROWS) and before
    each batch, so a second batch in the same transaction works on its own rows."""
    for dup_path in (False, True):
        base = T0 + timedelta(days=1 if dup_path else 0)
        first = [make_reading(device_id=d, ts=base, seq=1) for d in ("a", "b")]
        second = [make_reading(device_id=d, ts=base + timedelta(minutes=1), seq=2) for d in "ab"]
        writer.write(conn, first)
        # A duplicate sends the second batch through the staging table.
        result = writer.write(conn, second + first[:1] if dup_path else second)
        conn.commit()
        assert (len(result.inserted), result.duplicates) == (2, 1 if dup_path else 0)
        if dup_path:
            again = writer.write(conn, [make_reading(device_id="a", ts=base, seq=1)])
            assert again.duplicates == 1
            conn.commit()
        states = latest_states(conn, ["a", "b"])
        assert {d: s.reading.seq for d, s in states.items()} == {"a": 2, "b": 2}
        assert {d: s.reading.ts for d, s in states.items()} == dict.fromkeys("ab", second[0].ts)
    assert conn.execute("SELECT count(*) FROM aw_latest").fetchone() == (0,)
    assert conn.execute("SELECT count(*) FROM aw_staging").fetchone() == (0,)


def test_latest_round_trips_a_reading(conn: Conn, writer: ReadingWriter) -> None:
    r = make_reading(alarms=("antenna_cut",), metrics={"activity": 3.5}, topic="t", tamper=True)
    writer.write(conn, [r])
    conn.commit()
    got = latest_states(conn, ["dev-1", "nobody"])
    assert list(got) == ["dev-1"]
    back = got["dev-1"].reading
    assert back.alarms == ("antenna_cut",)
    assert dict(back.metrics) == {"activity": 3.5}
    assert (back.tamper, back.topic, back.seq, back.ts) == (True, "t", r.seq, r.ts)


def test_a_bad_reading_fails_the_batch_and_names_the_field(
    conn: Conn, writer: ReadingWriter
) -> None:
    good = make_reading()
    bad = make_reading(seq=2, lon=200.0)
    with pytest.raises(ReadingRangeError) as info:
        writer.write(conn, [good, bad])
    assert info.value.field == "lon"
    assert _count(conn) == 0
    ok, rejects = writer.split(
        [good, bad, make_reading(seq=3, ts=datetime.now(UTC) + timedelta(days=1))]
    )
    assert ok == (good,)
    assert [r.error.field for r in rejects] == ["lon", "ts"]
    assert writer.write(conn, ok).inserted == (good,)


def test_write_needs_a_transaction(db_url: str, writer: ReadingWriter) -> None:
    from telemetry.errors import TelemetryError

    with psycopg.connect(db_url, autocommit=True) as c, pytest.raises(TelemetryError):
        writer.write(c, [make_reading()])
    with psycopg.connect(db_url, autocommit=True) as c:
        with c.transaction():
            writer.write(c, [make_reading()])
        assert _count(c) == 1


def test_track_simplifies_in_metres(conn: Conn, writer: ReadingWriter) -> None:
    # a straight line with 1 m of jitter, then a corner
    rs = [
        make_reading(
            ts=T0 + timedelta(minutes=i), seq=i, lat=31.0 + i * 0.001, lon=121.0 + (i % 2) * 1e-5
        )
        for i in range(50)
    ] + [
        make_reading(
            ts=T0 + timedelta(minutes=50 + i), seq=50 + i, lat=31.049, lon=121.0 + i * 0.001
        )
        for i in range(1, 20)
    ]
    writer.write(conn, rs)
    conn.commit()
    full = track(conn, "dev-1", T0, T0 + timedelta(hours=2))
    assert len(full.points) == 69
    simple = track(conn, "dev-1", T0, T0 + timedelta(hours=2), simplify_m=20)
    assert 3 <= len(simple.points) <= 5
    assert simple.points[0] == full.points[0]
    assert simple.points[-1] == full.points[-1]
    geo = simple.to_geojson()
    assert geo["geometry"]["type"] == "LineString"
    assert len(geo["properties"]["times"]) == len(simple.points)


def test_dead_letters(conn: Conn) -> None:
    i = dead_letter(conn, DeadLetter(reason="bad json", stage="decode", payload=b"{", topic="x"))
    n = dead_letters(
        conn,
        [DeadLetter(reason="lat=91", stage="validate", device_id="d"), DeadLetter("r", "write")],
    )
    conn.commit()
    assert i > 0
    assert n == 2
    rows = conn.execute("SELECT stage, payload FROM dead_letters ORDER BY id").fetchall()
    assert rows == [("decode", b"{"), ("validate", None), ("write", None)]
    with pytest.raises(ValueError, match="stage"):
        dead_letter(conn, DeadLetter(reason="x", stage="nope"))


def test_parallel_writers_store_what_one_writer_stores(db_url: str, second_db_url: str) -> None:
    """``bench store``'s parallel figure: writers owning disjoint devices, each on its own
    connection, leave the same rows and the same latest state as one writer."""
    from telemetry.bench import make_readings, run_parallel, run_writer

    rows = make_readings(3000, 40)
    run_parallel(db_url, Settings(), rows, 500, 3)
    run_writer(second_db_url, Settings(), rows, 500)
    got = []
    for url in (db_url, second_db_url):
        with psycopg.connect(url) as c:
            got.append(
                (
                    c.execute("SELECT device_id, ts, seq FROM readings ORDER BY 1, 2").fetchall(),
                    c.execute("SELECT device_id, ts, seq FROM latest_state ORDER BY 1").fetchall(),
                )
            )
    assert len(got[0][0]) == 3000
    assert len(got[0][1]) == 40
    assert got[0] == got[1]
