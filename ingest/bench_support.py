"""The ingest benchmark's common parts: its database, broker, messages, publisher and row counts."""

from __future__ import annotations

import multiprocessing
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import orjson
import paho.mqtt.client as paho
import psycopg
from paho.mqtt.enums import CallbackAPIVersion
from psycopg import sql
from psycopg.conninfo import make_conninfo

from assetwatch.embedded import EmbeddedServer, start_broker
from assetwatch.settings import Settings
from telemetry.schema import migrate
from telemetry.sqlfiles import query

Item = tuple[str, bytes]
_WINDOW = 1000
ROOT = Path(__file__).resolve().parent.parent
NODERED_DIR = ROOT / "bench" / ".work" / "nodered"
NODERED_CFG = ROOT / "bench" / "ingest_nodered"


def bench_query(name: str) -> Any:
    return query("ingest", name, "bench.sql")


# -- environment -----------------------------------------------------------------------
@contextmanager
def bench_database(settings: Settings) -> Iterator[str]:
    admin = settings.database_url or "postgresql://postgres@127.0.0.1:5432/postgres"
    name = f"aw_bench_ingest_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_conninfo(admin, dbname=name)
    try:
        with psycopg.connect(url) as conn:
            migrate(conn)
            conn.execute(bench_query("peer_tables"))
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@contextmanager
def bench_broker() -> Iterator[tuple[EmbeddedServer, Path]]:
    directory = Path(tempfile.mkdtemp(prefix="aw-bench-mqtt-"))
    directory.chmod(0o777)  # mosquitto drops root privileges to its own user
    broker = start_broker(directory)
    try:
        yield broker, directory
    finally:
        broker.stop()
        shutil.rmtree(directory, ignore_errors=True)


def broker_port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


@contextmanager
def row_counter(url: str, name: str) -> Iterator[Callable[[], int]]:
    """A function counting rows with bench query ``name``, for polling during a timed drain.

    One open connection (a connection per poll cost the server a backend start
    each time) and a serial scan (a parallel one took the contender's cores);
    :func:`wait_rows` polls rarely until the end is near.
    """
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET max_parallel_workers_per_gather = 0")
        stmt = bench_query(name)

        def poll() -> int:
            row = conn.execute(stmt).fetchone()
            return int(row[0]) if row else 0

        yield poll


def truncate_rows(url: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(bench_query("truncate_all"))


def register_devices(url: str, devices: list[str]) -> None:
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.executemany(bench_query("register_terminal"), [{"device_id": d} for d in devices])


def pledge_devices(url: str, devices: list[str]) -> None:
    """Bind each bench terminal to a pledged truck with a zone (for the detectors' run)."""
    with psycopg.connect(url) as conn:
        conn.execute(bench_query("pledge_terminals"), {"device_ids": devices})


def forget_sessions(broker_url: str, client_ids: list[str]) -> None:
    """Discard contenders' persistent sessions once they are timed.

    A stopped contender's session stays subscribed, and the broker queues every
    later message for it: the next contender's broker would do the work of
    several. Connecting with a clean session under the same id discards it.
    """
    for cid in client_ids:
        c = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=cid, clean_session=True,
            protocol=paho.MQTTv311,
        )  # fmt: skip
        c.connect("127.0.0.1", broker_port(broker_url))
        c.loop(1.0)
        c.disconnect()
        c.loop(0.1)


def settle(url: str) -> bool:
    """CHECKPOINT the server (superuser or pg_checkpoint); False if not allowed."""
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(bench_query("checkpoint"))
    except psycopg.errors.InsufficientPrivilege:
        return False
    return True


def truncate_detectors(url: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(bench_query("truncate_detectors"))


# -- workload ----------------------------------------------------------------------------
def single_items(devices: list[str], n: int, *, pub_time: bool = False) -> list[Item]:
    t0 = datetime.now(UTC) - timedelta(hours=6)
    out: list[Item] = []
    for i in range(n):
        d = devices[i % len(devices)]
        doc: dict[str, Any] = {
            "ts": (t0 + timedelta(milliseconds=i)).isoformat(),
            "seq": i,
            "lat": 31.2 + (i % 100) * 1e-4,
            "lon": 121.4,
            "speed_kmh": float(i % 90),
        }
        out.append((f"assetwatch/{d}/telemetry", orjson.dumps(doc)))
    return out


def batched_items(devices: list[str], messages: int, per: int) -> list[Item]:
    t0 = datetime.now(UTC) - timedelta(hours=6)
    out: list[Item] = []
    for m in range(messages):
        d = devices[m % len(devices)]
        rows = [
            {
                "ts": (t0 + timedelta(milliseconds=m * per + k)).isoformat(),
                "seq": m * per + k,
                "lat": 31.2,
                "lon": 121.4,
                "speed_kmh": 10.0,
            }
            for k in range(per)
        ]
        out.append((f"assetwatch/{d}/telemetry", orjson.dumps(rows)))
    return out


def publish(
    broker_url: str, items: list[Item], *, rate: float | None = None, stamp: bool = False
) -> float:
    """Publish at QoS 1 (as fast as acknowledged, or paced); returns seconds taken."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex[:6]}")
    # No paho in-flight limit: with one, paho queues publishes beyond it and walks
    # every unacknowledged message on each PUBACK (a third of a publisher's CPU);
    # the window below bounds what is unacknowledged instead, and a message is
    # on the wire when publish() returns, so its stamped time is its send time.
    client.max_inflight_messages_set(0)
    client.connect("127.0.0.1", broker_port(broker_url))
    client.loop_start()
    t0 = time.perf_counter()
    infos: list[paho.MQTTMessageInfo] = []
    for i, (topic, payload) in enumerate(items):
        if rate is not None:
            due = t0 + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        if stamp:
            doc = orjson.loads(payload)
            doc["metrics"] = {"pub_t": time.time()}
            payload = orjson.dumps(doc)
        if i >= _WINDOW:  # at most _WINDOW unacknowledged: paho's queue stays small
            infos[i - _WINDOW].wait_for_publish(60)
        infos.append(client.publish(topic, payload, qos=1))
    for info in infos[-_WINDOW:]:
        info.wait_for_publish(60)
    took = time.perf_counter() - t0
    client.loop_stop()
    client.disconnect()
    return took


def publish_in_child(broker_url: str, items: list[Item], **kw: Any) -> float:
    """:func:`publish` in a forked process, so the publisher does not share the GIL
    with the in-process ingest it measures; returns the seconds it took."""
    ctx = multiprocessing.get_context("fork")
    result = ctx.Queue()
    proc = ctx.Process(target=_publish_child, args=(broker_url, items, kw, result))
    proc.start()
    took = float(result.get(timeout=900))
    proc.join(30)
    return took


def _publish_child(broker_url: str, items: list[Item], kw: dict[str, Any], result: Any) -> None:
    result.put(publish(broker_url, items, **kw))


def wait_rows(
    poll: Callable[[], int], target: int, timeout: float = 600.0
) -> tuple[float, int, float]:
    """(first time rows appeared, rows at that time, time the target was reached).

    Polls every 50 ms until rows appear, then at a quarter of the time the rate
    so far says is left (at least 50 ms, at most 0.5 s apart): a count is a
    scan of the table, and polling it 20 times a second took CPU from the
    contender being timed. The end is still seen within 50 ms unless the rate
    more than quadruples between two polls.
    """
    deadline = time.monotonic() + timeout
    first: tuple[float, int] | None = None
    while time.monotonic() < deadline:
        n = poll()
        now = time.perf_counter()
        if n > 0 and first is None:
            first = (now, n)
        if n >= target:
            assert first is not None
            return first[0], first[1], now
        pause = 0.05
        if first is not None and n > first[1] and now > first[0]:
            rate = (n - first[1]) / (now - first[0])
            pause = min(0.5, max(0.05, 0.25 * (target - n) / rate))
        time.sleep(pause)
    raise click.ClickException(f"timed out: {poll()} of {target} rows")


def drain_rate(first: float, at_first: int, last: float, target: int) -> float:
    return (target - at_first) / max(last - first, 1e-6)


# -- contenders ----------------------------------------------------------------------------
