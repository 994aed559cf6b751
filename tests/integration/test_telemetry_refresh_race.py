"""A rollup refresh running while a writer's batch is open loses none of its readings.

Real concurrency on two connections: the writer's batch is left uncommitted
while the refresh runs in another thread, then committed; the rollups must
still equal a brute-force aggregate of every stored reading.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import LiteralString

import psycopg
import pytest

from assetwatch.settings import Settings
from telemetry.model import Reading
from telemetry.queries import carry_forward, hourly_rollups
from telemetry.rollups import materialize_rollups
from telemetry.store import ReadingWriter
from tests import telemetry_oracle as oracle

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=1)
Conn = psycopg.Connection[tuple[object, ...]]


@pytest.fixture
def conns(db_url: str) -> Iterator[tuple[Conn, Conn]]:
    with psycopg.connect(db_url) as a, psycopg.connect(db_url) as b:
        yield a, b


def _reading(minute: int) -> Reading:
    return Reading(
        device_id="race",
        ts=T0 + timedelta(minutes=minute),
        seq=minute,
        lat=30.0,
        lon=120.0 + minute / 1000,
        speed_kmh=20.0,
    )


def _check(conn: Conn, rs: list[Reading]) -> None:
    got = hourly_rollups(conn, ["race"], T0 - timedelta(hours=1), T0 + timedelta(hours=6))
    conn.commit()
    want = carry_forward(oracle.hourly_rows(rs))
    assert [g.readings for g in got] == [w.readings for w in want]
    for g, w in zip(got, want, strict=True):
        for field in g.__dataclass_fields__:
            assert oracle.close(getattr(g, field), getattr(w, field)), (field, g, w)


def _in_thread(fn: Callable[[], object]) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            fn()
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, errors


def _refresh(conn: Conn) -> None:
    materialize_rollups(conn, now=NOW)
    conn.commit()  # a no-op where the refresh committed its own work


def _plain(conn: Conn) -> bool:
    row = conn.execute("SELECT to_regclass('readings_hourly_mat') IS NOT NULL").fetchone()
    conn.commit()
    return bool(row and row[0])


class _Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def _count(conn: Conn, sql: LiteralString) -> int:
    row = conn.execute(sql).fetchone()
    conn.commit()
    assert row is not None
    return int(str(row[0]))


def test_refresh_during_an_open_batch_keeps_its_readings(conns: tuple[Conn, Conn]) -> None:
    """The batch marked an hour that was already dirty (a no-op), then a refresh folds
    that hour before the batch commits: the batch's reading must still count."""
    writer_conn, refresh_conn = conns
    writer = ReadingWriter(Settings())
    first = [_reading(m) for m in range(0, 60, 10)]  # 06:00-06:50, hour 06 marked dirty
    writer.write(writer_conn, first)
    writer_conn.commit()
    more = [_reading(55), _reading(65)]  # one more in hour 06, one in 07
    writer.write(writer_conn, more)  # open: not committed yet
    t, errors = _in_thread(lambda: _refresh(refresh_conn))
    t.join(1.0)  # the refresh may finish, or wait for the open batch
    writer_conn.commit()
    t.join(60)
    assert not t.is_alive()
    assert not errors, errors
    _check(writer_conn, first + more)
    materialize_rollups(writer_conn, now=NOW)
    _check(writer_conn, first + more)


def test_batch_between_flagging_and_folding_keeps_its_readings(
    conns: tuple[Conn, Conn],
) -> None:
    """Plain layout, the refresh's two steps driven by hand: a batch written after
    the refresh flagged its hour, still open while the fold runs."""
    writer_conn, refresh_conn = conns
    if not _plain(writer_conn):
        pytest.skip("the flag/fold functions are the plain layout's refresh")
    writer = ReadingWriter(Settings())
    first = [_reading(m) for m in range(0, 60, 10)]
    writer.write(writer_conn, first)
    writer_conn.commit()
    refresh_conn.execute("SELECT aw_rollup_flag_closing(%s)", (NOW,))
    refresh_conn.commit()
    more = [_reading(57)]
    writer.write(writer_conn, more)  # renews the flagged mark; open

    def fold() -> None:
        refresh_conn.execute("SELECT aw_rollup_fold_closing()")
        refresh_conn.commit()

    t, errors = _in_thread(fold)
    t.join(1.0)  # waits for the batch's renewed mark
    writer_conn.commit()
    t.join(60)
    assert not t.is_alive()
    assert not errors, errors
    _check(writer_conn, first + more)
    # hour 06 is still dirty: the next refresh folds it
    assert _count(writer_conn, "SELECT count(*) FROM rollup_dirty") >= 1
    materialize_rollups(writer_conn, now=NOW)
    _check(writer_conn, first + more)
    assert _count(writer_conn, "SELECT count(*) FROM rollup_dirty") == 0


def test_concurrent_refreshes_agree_with_one(conns: tuple[Conn, Conn]) -> None:
    """Two refreshes at once (two ingest writers' periodic refreshes): the answer is
    the same as one, and neither fails."""
    a, b = conns
    writer = ReadingWriter(Settings())
    rs = [_reading(m) for m in range(0, 300, 5)]
    for i in range(0, len(rs), 7):
        writer.write(a, rs[i : i + 7])
        a.commit()
    started = time.monotonic()
    t1, e1 = _in_thread(lambda: _refresh(a))
    t2, e2 = _in_thread(lambda: _refresh(b))
    t1.join(60)
    t2.join(60)
    assert not t1.is_alive(), time.monotonic() - started
    assert not t2.is_alive(), time.monotonic() - started
    assert not e1, e1
    assert not e2, e2
    _check(a, rs)


def test_writer_refreshes_after_commit_every_interval(conns: tuple[Conn, Conn]) -> None:
    """Plain layout: the writer's periodic refresh folds closed hours after a commit."""
    conn, _ = conns
    if not _plain(conn):
        pytest.skip("the writer's periodic refresh is the plain layout's")
    clock = _Clock()
    writer = ReadingWriter(Settings(rollup_refresh_s=30), clock=clock)
    rs = [_reading(m) for m in range(0, 180, 10)]  # hours 06, 07, 08
    for i in range(0, len(rs), 6):
        writer.write(conn, rs[i : i + 6])
        conn.commit()
        writer.refresh_if_due(conn)  # the first call only starts the interval
    assert _count(conn, "SELECT count(*) FROM readings_hourly_mat") == 0
    clock.now += timedelta(seconds=31)
    writer.refresh_if_due(conn)
    # Hours 06 and 07 are closed by the device's own newest reading (08:50);
    # the clock (a day on) closes 08 as well.
    assert _count(conn, "SELECT count(*) FROM readings_hourly_mat") == 3
    assert _count(conn, "SELECT count(*) FROM rollup_dirty") == 0
    _check(conn, rs)


def test_writer_refresh_gives_way_to_an_open_batch(
    conns: tuple[Conn, Conn], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A periodic refresh that cannot flag within its wait gives up quietly (logged);
    the marks stay and the next one folds them."""
    a, b = conns
    if not _plain(a):
        pytest.skip("the writer's periodic refresh is the plain layout's")
    monkeypatch.setattr("telemetry.store._FLAG_WAIT_MS", 200)
    clock = _Clock()
    writer_a = ReadingWriter(Settings())
    writer_b = ReadingWriter(Settings(rollup_refresh_s=30), clock=clock)
    rs = [_reading(m) for m in range(0, 120, 10)]
    writer_b.write(b, rs)
    b.commit()
    writer_b.refresh_if_due(b)  # starts the interval
    other = [replace(r, device_id="race-a") for r in rs[:2]]
    writer_a.write(a, other)  # open: holds the guard shared
    clock.now += timedelta(seconds=31)
    with caplog.at_level("WARNING", logger="telemetry.store"):
        writer_b.refresh_if_due(b)
    assert "rollup refresh skipped" in caplog.text
    assert _count(b, "SELECT count(*) FROM readings_hourly_mat") == 0
    a.commit()
    clock.now += timedelta(seconds=31)
    writer_b.refresh_if_due(b)
    assert _count(b, "SELECT count(*) FROM readings_hourly_mat") >= 2
    _check(b, rs)
