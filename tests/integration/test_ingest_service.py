"""The ingest end to end against the real broker and database (in-process)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import orjson
import pytest

from assetwatch.settings import Settings
from ingest.quarantine import release
from telemetry.db import Conn
from telemetry.model import Reading
from tests.ingest_support import (
    count,
    own_broker,
    publish_all,
    publisher,
    register,
    running_ingest,
    wait_until,
)

pytestmark = pytest.mark.integration


def _settings(db_url: str, mqtt_url: str, tmp_path: Path, **kw: object) -> Settings:
    base: dict[str, object] = {
        "database_url": db_url,
        "mqtt_url": mqtt_url,
        "data_dir": tmp_path,
        "ingest_client_id": f"test-ingest-{uuid.uuid4().hex[:8]}",
        "ingest_batch_max_age_ms": 50,
        "ingest_session_expiry_s": 60,
    }
    base.update(kw)
    return Settings(**base)  # type: ignore[arg-type]


@pytest.fixture
def mqtt_url() -> Iterator[str]:
    """A broker of this test's own: a plain subscription on the shared one would also
    take every other test's messages (and quarantine them here)."""
    with own_broker() as broker:
        yield broker.url


def test_readings_rejects_and_quarantine_reach_their_tables(
    db_url: str, mqtt_url: str, tmp_path: Path
) -> None:
    dev = f"it-{uuid.uuid4().hex[:8]}"
    unknown = f"unk-{uuid.uuid4().hex[:8]}"
    register(db_url, dev)
    hooked: list[int] = []

    def hook(conn: Conn, readings: Sequence[Reading]) -> None:
        assert not conn.autocommit
        hooked.append(len(readings))

    now = datetime.now(UTC)
    ok = [
        (
            f"assetwatch/{dev}/telemetry",
            orjson.dumps(
                {
                    "ts": (now - timedelta(seconds=i)).isoformat(),
                    "seq": i,
                    "lat": 31.2,
                    "lon": 121.4,
                }
            ),
        )
        for i in range(50)
    ]
    batch = [
        (
            f"assetwatch/{dev}/telemetry",
            orjson.dumps(
                [
                    {"ts": (now - timedelta(minutes=10, seconds=i)).isoformat(), "seq": 1000 + i}
                    for i in range(20)
                ]
            ),
        )
    ]
    dup = [ok[0]]
    bad = [
        (f"assetwatch/{dev}/telemetry", b"{not json"),
        (
            f"assetwatch/{dev}/telemetry",
            orjson.dumps({"ts": now.isoformat(), "lat": 95.0, "lon": 1.0}),
        ),
    ]
    quarantined = [
        (f"assetwatch/{unknown}/telemetry", orjson.dumps({"ts": now.isoformat(), "seq": 1}))
    ]
    settings = _settings(db_url, mqtt_url, tmp_path)
    pub = publisher(mqtt_url)
    try:
        with running_ingest(settings, commit_hook=hook) as svc:
            publish_all(pub, ok + batch + dup + bad + quarantined)
            assert wait_until(
                lambda: (
                    svc.stats.messages >= 55
                    and count(db_url, "SELECT count(*) FROM quarantine") == 1
                )
            )
            assert wait_until(lambda: count(db_url, "SELECT count(*) FROM readings") == 70)
    finally:
        pub.loop_stop()
        pub.disconnect()
    assert count(db_url, "SELECT count(*) FROM dead_letters") == 2
    assert count(db_url, "SELECT count(*) FROM dead_letters WHERE stage = 'decode'") == 1
    assert count(db_url, "SELECT count(*) FROM dead_letters WHERE stage = 'validate'") == 1
    assert sum(hooked) == 70
    # Register the unknown terminal and release: its reading is stored, once.
    register(db_url, unknown)
    report = release(settings)
    assert (report.released, report.readings) == (1, 1)
    assert count(db_url, "SELECT count(*) FROM readings WHERE device_id = %s", (unknown,)) == 1
    assert count(db_url, "SELECT count(*) FROM quarantine WHERE released_at IS NULL") == 0
    assert release(settings).released == 0


def test_late_batch_is_stored_by_event_time_and_never_moves_latest_back(
    db_url: str, mqtt_url: str, tmp_path: Path
) -> None:
    dev = f"late-{uuid.uuid4().hex[:8]}"
    register(db_url, dev)
    now = datetime.now(UTC)
    fresh = {"ts": now.isoformat(), "seq": 100, "lat": 31.3, "lon": 121.5}
    backlog = [
        {
            "ts": (now - timedelta(hours=5, minutes=i)).isoformat(),
            "seq": i,
            "lat": 30.0,
            "lon": 120.0,
        }
        for i in range(30)
    ]
    settings = _settings(db_url, mqtt_url, tmp_path)
    pub = publisher(mqtt_url)
    try:
        with running_ingest(settings):
            publish_all(pub, [(f"assetwatch/{dev}/telemetry", orjson.dumps(fresh))])
            assert wait_until(lambda: count(db_url, "SELECT count(*) FROM readings") == 1)
            publish_all(pub, [(f"assetwatch/{dev}/telemetry", orjson.dumps(backlog))])
            assert wait_until(lambda: count(db_url, "SELECT count(*) FROM readings") == 31)
    finally:
        pub.loop_stop()
        pub.disconnect()
    assert count(db_url, "SELECT count(*) FROM readings WHERE late") == 30
    assert count(db_url, "SELECT seq FROM latest_state WHERE device_id = %s", (dev,)) == 100


def test_an_idle_writer_takes_a_partial_batch_without_waiting_for_its_age(
    db_url: str, mqtt_url: str, tmp_path: Path
) -> None:
    """Group commit: with the writer idle, a lone message is committed at once.

    The batch age is ten minutes and the size 5,000, so only the idle-writer
    hand-over can commit these within the wait below; then a second message
    while the first is long committed goes the same way.
    """
    dev = f"gc-{uuid.uuid4().hex[:8]}"
    register(db_url, dev)
    settings = _settings(
        db_url, mqtt_url, tmp_path, ingest_batch_max_age_ms=600_000, ingest_batch_size=5000
    )
    now = datetime.now(UTC)
    pub = publisher(mqtt_url)

    def committed(n: int) -> bool:
        return svc.stats.readings_written == n

    try:
        with running_ingest(settings) as svc:
            for i in range(2):
                ts = (now - timedelta(seconds=i)).isoformat()
                publish_all(
                    pub, [(f"assetwatch/{dev}/telemetry", orjson.dumps({"ts": ts, "seq": i}))]
                )
                assert wait_until(partial(committed, i + 1), timeout=60)
                assert svc.stats.batches == i + 1
    finally:
        pub.loop_stop()
        pub.disconnect()
    assert count(db_url, "SELECT count(*) FROM readings WHERE device_id = %s", [dev]) == 2
