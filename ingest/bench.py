"""``assetwatch bench ingest``: MQTT-to-database throughput against same-run baselines.

What is measured, all on one machine (broker, database and contenders local):

* **backlog drain**: N messages are published while the consumer is offline, so
  the broker queues them for its persistent session; then the consumer starts
  and the figure is rows committed per second from the first commit to the
  last (the publisher's own cost on a 2-core machine does not cap it);
* contenders on the same backlog: the ingest (single-reading JSON messages at
  QoS 1, and store-and-forward arrays), the raw ceiling (a paho subscriber that
  only decodes the JSON), a naive baseline (one INSERT and COMMIT per message)
  and Node-RED 4.1.8 (mqtt in -> json -> function buffering rows and COPYing
  them with pg-copy-streams every 1,000 rows or 1 s);
* **live**: the ingest while a publisher sends as fast as it can, and the
  publish-to-commit latency (p50/p99) at a paced 10,000 messages/s.

Node-RED is installed from npm into ``bench/.work/nodered`` (git-ignored) on
first use. The broker is a Mosquitto of the benchmark's own; the database is a
fresh one on ``ASSETWATCH_DATABASE_URL``'s server (or the local 5432), dropped
afterwards.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import threading
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
from assetwatch.settings import Settings, load_settings
from ingest.service import IngestService
from telemetry.schema import migrate
from telemetry.sqlfiles import query

Item = tuple[str, bytes]
_WINDOW = 1000
ROOT = Path(__file__).resolve().parent.parent
NODERED_DIR = ROOT / "bench" / ".work" / "nodered"
NODERED_CFG = ROOT / "bench" / "ingest_nodered"


def _q(name: str) -> Any:
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
            conn.execute(_q("peer_tables"))
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


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _count(url: str, name: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(_q(name)).fetchone()
    return int(row[0]) if row else 0


def _truncate(url: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(_q("truncate_all"))


def register_devices(url: str, devices: list[str]) -> None:
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.executemany(_q("register_terminal"), [{"device_id": d} for d in devices])


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
    client.max_inflight_messages_set(_WINDOW)
    client.connect("127.0.0.1", _port(broker_url))
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
    """(first time rows appeared, rows at that time, time the target was reached)."""
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
        time.sleep(0.05)
    raise click.ClickException(f"timed out: {poll()} of {target} rows")


def _rate(first: float, at_first: int, last: float, target: int) -> float:
    return (target - at_first) / max(last - first, 1e-6)


# -- contenders ----------------------------------------------------------------------------
@contextmanager
def ingest_running(settings: Settings, client_id: str, **kw: Any) -> Iterator[IngestService]:
    service = IngestService(settings, client_id=client_id, **kw)
    stop, ready = threading.Event(), threading.Event()
    thread = threading.Thread(target=service.run, args=(stop, ready), daemon=True)
    thread.start()
    try:
        if not ready.wait(30):
            raise click.ClickException("the ingest did not subscribe")
        yield service
    finally:
        stop.set()
        thread.join(60)


def ingest_drain(
    settings: Settings, broker_url: str, items: list[Item], readings: int
) -> dict[str, float]:
    """Backlog drain by the ingest: prime the session, publish offline, start, time."""
    cid = f"bench-ingest-{uuid.uuid4().hex[:6]}"
    with ingest_running(settings, cid):
        pass  # creates the persistent session and its subscriptions
    publish(broker_url, items)
    with ingest_running(settings, cid) as svc:
        first, at_first, last = wait_rows(lambda: svc.stats.readings_written, readings)
    return {"rate": _rate(first, at_first, last, readings), "seconds": last - first}


def _shared_worker(
    settings: Settings, client_id: str, built: Any, go: Any, stop: Any, ready: Any
) -> None:
    """One ingest process of the shared-subscription pair (runs in a spawned child).

    It waits for ``go`` after the imports, so the processes connect together.
    """
    service = IngestService(settings, client_id=client_id)
    built.set()
    go.wait()
    ready_t = threading.Event()
    stop_t = threading.Event()

    def relay() -> None:
        ready_t.wait()
        ready.set()
        stop.wait()
        stop_t.set()

    threading.Thread(target=relay, daemon=True).start()
    service.run(stop_t, ready_t)


@contextmanager
def shared_ingest_processes(
    settings: Settings, client_ids: list[str], *, wait_ready: bool = True
) -> Iterator[None]:
    """``len(client_ids)`` ingest processes in one MQTT shared-subscription group.

    Yields once all are up (``wait_ready``: subscribed; else: told to connect).
    """
    ctx = multiprocessing.get_context("spawn")
    go, stop = ctx.Event(), ctx.Event()
    builts = [ctx.Event() for _ in client_ids]
    readies = [ctx.Event() for _ in client_ids]
    procs = [
        ctx.Process(target=_shared_worker, args=(settings, cid, b, go, stop, r), daemon=True)
        for cid, b, r in zip(client_ids, builts, readies, strict=True)
    ]
    for p in procs:
        p.start()
    try:
        for b in builts:  # imports done, service built: connect together
            if not b.wait(120):
                raise click.ClickException("a shared-subscription ingest process did not start")
        go.set()
        for r in readies if wait_ready else ():
            if not r.wait(60):
                raise click.ClickException("a shared-subscription ingest process did not subscribe")
        yield
    finally:
        stop.set()
        for p in procs:
            p.join(60)
            if p.is_alive():
                p.kill()


def ingest_drain_shared(
    settings: Settings, db_url: str, broker_url: str, items: list[Item], workers: int
) -> dict[str, float]:
    """Backlog drain by ``workers`` ingest processes sharing ``$share/bench/...``.

    Each process is the normal single-process ingest; the broker splits the
    backlog between their persistent sessions. Rows are counted in the database.
    """
    shared = settings.model_copy(update={"ingest_shared_group": "bench"})
    cids = [f"bench-shared-{uuid.uuid4().hex[:6]}" for _ in range(workers)]
    with shared_ingest_processes(shared, cids):
        pass  # creates the persistent sessions and their shared subscriptions
    publish(broker_url, items)
    with shared_ingest_processes(shared, cids, wait_ready=False):
        first, at_first, last = wait_rows(lambda: _count(db_url, "count_readings"), len(items))
    return {"rate": _rate(first, at_first, last, len(items)), "seconds": last - first}


def ingest_live(
    settings: Settings, broker_url: str, items: list[Item], readings: int
) -> dict[str, float]:
    """The ingest running while the publisher sends as fast as the broker acknowledges."""
    cid = f"bench-live-{uuid.uuid4().hex[:6]}"
    with ingest_running(settings, cid) as svc:
        t0 = time.perf_counter()
        pub_s = publish_in_child(broker_url, items)
        wait_rows(lambda: svc.stats.readings_written, readings)
        total = time.perf_counter() - t0
    return {"rate": readings / total, "publish_rate": len(items) / pub_s}


def ingest_latency(
    settings: Settings, broker_url: str, items: list[Item], rate: float
) -> dict[str, float]:
    """Publish-to-commit latency at a paced rate (publish time carried in the message)."""
    cid = f"bench-lat-{uuid.uuid4().hex[:6]}"
    latencies: list[float] = []

    def on_commit(done: Any) -> None:
        now = time.time()
        latencies.extend(now - r.metrics["pub_t"] for r in done.inserted if "pub_t" in r.metrics)

    with ingest_running(settings, cid) as svc:
        svc.on_commit = on_commit
        pub_s = publish_in_child(broker_url, items, rate=rate, stamp=True)
        wait_rows(lambda: svc.stats.readings_written, len(items))
    q = statistics.quantiles(latencies, n=100)
    return {"p50_ms": q[49] * 1000, "p99_ms": q[98] * 1000, "achieved_rate": len(items) / pub_s}


def raw_ceiling(broker_url: str, items: list[Item]) -> dict[str, float]:
    """A paho subscriber that only decodes JSON (QoS 1, persistent session, acks on receipt)."""
    cid = f"bench-raw-{uuid.uuid4().hex[:6]}"
    got = {"n": 0}
    stamps: dict[str, float] = {}

    def on_message(client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        orjson.loads(msg.payload)
        got["n"] += 1
        if got["n"] == 1:
            stamps["first"] = time.perf_counter()
        if got["n"] == len(items):
            stamps["last"] = time.perf_counter()

    def session() -> paho.Client:
        c = paho.Client(CallbackAPIVersion.VERSION2, client_id=cid, clean_session=False)
        c.on_message = on_message
        c.connect("127.0.0.1", _port(broker_url))
        c.subscribe("assetwatch/+/telemetry", qos=1)
        return c

    c = session()
    c.loop(1.0)
    c.disconnect()
    publish(broker_url, items)
    c = session()
    deadline = time.monotonic() + 300
    while "last" not in stamps and time.monotonic() < deadline:
        c.loop(0.5)
    c.disconnect()
    if "last" not in stamps:
        raise click.ClickException(f"raw subscriber got {got['n']} of {len(items)}")
    return {"rate": (len(items) - 1) / (stamps["last"] - stamps["first"])}


def naive_baseline(db_url: str, broker_url: str, items: list[Item]) -> dict[str, float]:
    """One INSERT and one COMMIT per message (a paho subscriber, backlog drain)."""
    cid = f"bench-naive-{uuid.uuid4().hex[:6]}"
    conn = psycopg.connect(db_url)
    stmt = _q("naive_insert")
    got = {"n": 0}
    stamps: dict[str, float] = {}

    def on_message(client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        doc = orjson.loads(msg.payload)
        conn.execute(
            stmt,
            {
                "device_id": msg.topic.split("/")[1],
                "ts": doc["ts"],
                "seq": doc["seq"],
                "lat": doc.get("lat"),
                "lon": doc.get("lon"),
                "speed_kmh": doc.get("speed_kmh"),
                "topic": msg.topic,
            },
        )
        conn.commit()
        got["n"] += 1
        if got["n"] == 1:
            stamps["first"] = time.perf_counter()
        if got["n"] == len(items):
            stamps["last"] = time.perf_counter()

    def session() -> paho.Client:
        c = paho.Client(CallbackAPIVersion.VERSION2, client_id=cid, clean_session=False)
        c.on_message = on_message
        c.connect("127.0.0.1", _port(broker_url))
        c.subscribe("assetwatch/+/telemetry", qos=1)
        return c

    try:
        c = session()
        c.loop(1.0)
        c.disconnect()
        publish(broker_url, items)
        c = session()
        deadline = time.monotonic() + 300
        while "last" not in stamps and time.monotonic() < deadline:
            c.loop(0.5)
        c.disconnect()
    finally:
        conn.close()
    if "last" not in stamps:
        raise click.ClickException(f"naive baseline stored {got['n']} of {len(items)}")
    return {"rate": (len(items) - 1) / (stamps["last"] - stamps["first"])}


def ensure_nodered() -> Path:
    """Install Node-RED 4.1.8, pg and pg-copy-streams into bench/.work/nodered (once)."""
    red = NODERED_DIR / "node_modules" / "node-red" / "red.js"
    if not red.exists():
        NODERED_DIR.mkdir(parents=True, exist_ok=True)
        if not (NODERED_DIR / "package.json").exists():
            (NODERED_DIR / "package.json").write_text(
                '{"name": "aw-bench-nodered", "private": true}'
            )
        subprocess.run(
            [
                "npm",
                "install",
                "--no-audit",
                "--no-fund",
                "node-red@4.1.8",
                "pg",
                "pg-copy-streams",
            ],
            cwd=NODERED_DIR,
            check=True,
        )
    return red


def nodered_drain(
    db_url: str, broker_url: str, broker_dir: Path, items: list[Item]
) -> dict[str, float]:
    """Node-RED 4.1.8 draining the same backlog (mqtt in -> json -> buffered COPY)."""
    red = ensure_nodered()
    cid = f"bench-nodered-{uuid.uuid4().hex[:6]}"
    work = Path(tempfile.mkdtemp(prefix="aw-bench-nodered-"))
    pg_url = _libpq_uri(db_url)
    flows = (NODERED_CFG / "flows.template.json").read_text()
    flows = flows.replace("@MQTT_PORT@", str(_port(broker_url))).replace("@CLIENT_ID@", cid)
    (work / "flows.json").write_text(flows.replace("@PG_URL@", pg_url))
    env = {
        **os.environ,
        "NODERED_FLOWS": str(work / "flows.json"),
        "NODERED_MODULES": str(NODERED_DIR / "node_modules"),
        "NODERED_PORT": "0",
    }
    cmd = ["node", str(red), "-s", str(NODERED_CFG / "settings.js"), "-u", str(work)]

    def run_nodered() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            cmd, env=env, cwd=work, stdout=(work / "log").open("ab"), stderr=subprocess.STDOUT
        )

    proc = run_nodered()
    try:  # first start: creates the persistent session, then stop it
        _wait_client(broker_dir / "mosquitto.log", cid)
        proc.terminate()
        proc.wait(30)
        publish(broker_url, items)
        proc = run_nodered()
        first, at_first, last = wait_rows(
            lambda: _count(db_url, "count_nodered"), len(items), timeout=180
        )
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log = (work / "log").read_text(errors="replace")
        shutil.rmtree(work, ignore_errors=True)
    if "rror" in log:
        click.echo(f"node-red log:\n{log[-2000:]}", err=True)
    return {"rate": _rate(first, at_first, last, len(items))}


def _wait_client(log: Path, cid: str, timeout: float = 60.0) -> None:
    """Wait until ``cid`` has connected to the bench broker (seen in its log)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and cid in log.read_text(errors="replace"):
            time.sleep(2.0)  # connected; give it time to subscribe
            return
        time.sleep(0.2)
    raise click.ClickException(f"{cid} never connected to the bench broker")


def _libpq_uri(url: str) -> str:
    if url.startswith("postgres"):
        return url
    from psycopg.conninfo import conninfo_to_dict

    d = conninfo_to_dict(url)
    host = d.get("host", "127.0.0.1")
    return f"postgresql://{d.get('user', 'postgres')}@{host}:{d.get('port', 5432)}/{d['dbname']}"


# -- the command ------------------------------------------------------------------------------
def machine(db_url: str) -> dict[str, Any]:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(_q("server_version")).fetchone()
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "postgresql": str(row[0]) if row else "?",
        "platform": platform.platform(),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
    }


@click.command("ingest")
@click.option("--messages", default=100_000, show_default=True, help="Single-reading messages.")
@click.option("--batched", default=2_000, show_default=True, help="Array messages (batched run).")
@click.option("--per-batch", default=100, show_default=True, help="Readings per array message.")
@click.option("--naive", "naive_n", default=3_000, show_default=True, help="Messages, naive run.")
@click.option("--latency-rate", default=10_000.0, show_default=True, help="Paced msgs/s.")
@click.option("--latency-seconds", default=10.0, show_default=True)
@click.option("--skip-nodered", is_flag=True, help="Leave out the Node-RED peer.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document at the end.")
def bench_ingest(
    messages: int,
    batched: int,
    per_batch: int,
    naive_n: int,
    latency_rate: float,
    latency_seconds: float,
    skip_nodered: bool,
    as_json: bool,
) -> None:
    """MQTT -> database throughput of the ingest vs raw paho, naive INSERT and Node-RED."""
    base = load_settings()
    devices = [f"bench{i:04d}" for i in range(200)]
    out: dict[str, Any] = {}
    with bench_database(base) as db_url, bench_broker() as (broker, broker_dir):
        out["machine"] = machine(db_url)
        register_devices(db_url, devices)
        settings = base.model_copy(
            update={
                "database_url": db_url,
                "mqtt_url": broker.url,
                "metrics_port": None,
                "ingest_shared_group": None,
            }
        )
        single = single_items(devices, messages)

        def step(name: str, fn: Callable[[], dict[str, float]]) -> None:
            _truncate(db_url)
            t = time.perf_counter()
            out[name] = {k: round(v, 1) for k, v in fn().items()}
            click.echo(f"{name:<22} {out[name]}  ({time.perf_counter() - t:.0f} s)", err=True)

        step("raw_ceiling", lambda: raw_ceiling(broker.url, single))
        step("ingest_single", lambda: ingest_drain(settings, broker.url, single, messages))
        step(
            "ingest_shared_2proc",
            lambda: ingest_drain_shared(settings, db_url, broker.url, single, 2),
        )
        if not skip_nodered:
            step("nodered", lambda: nodered_drain(db_url, broker.url, broker_dir, single))
        step("naive", lambda: naive_baseline(db_url, broker.url, single[:naive_n]))
        arrays = batched_items(devices, batched, per_batch)
        step(
            "ingest_batched",
            lambda: ingest_drain(settings, broker.url, arrays, batched * per_batch),
        )
        live = single_items(devices, messages // 2)
        step("ingest_live", lambda: ingest_live(settings, broker.url, live, len(live)))
        paced = single_items(devices, int(latency_rate * latency_seconds))
        step("latency", lambda: ingest_latency(settings, broker.url, paced, latency_rate))
        out["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    ing = out["ingest_single"]["rate"]
    two = out["ingest_shared_2proc"]["rate"]
    ratios = {
        "vs_raw_ceiling": ing / out["raw_ceiling"]["rate"],
        "vs_naive": ing / out["naive"]["rate"],
    }
    if "nodered" in out:
        ratios["vs_nodered"] = ing / out["nodered"]["rate"]
        ratios["2proc_vs_nodered"] = two / out["nodered"]["rate"]
    out["ratios"] = {k: round(v, 2) for k, v in ratios.items()}
    m = out["machine"]
    click.echo(
        f"machine: {m['cpus']} cores, Python {m['python']}, PostgreSQL {m['postgresql']},"
        f" load {m['loadavg_start']} -> {m['loadavg_end']}"
    )
    click.echo(f"ingest single-reading backlog drain, one process: {ing:,.0f} msgs/s")
    click.echo(
        "ingest single-reading backlog drain, two processes ($share group):"
        f" {out['ingest_shared_2proc']['rate']:,.0f} msgs/s"
    )
    click.echo(f"ingest batched ({per_batch}/msg): {out['ingest_batched']['rate']:,.0f} readings/s")
    click.echo(
        f"ingest live publish: {out['ingest_live']['rate']:,.0f} msgs/s"
        f" (publisher {out['ingest_live']['publish_rate']:,.0f} msgs/s)"
    )
    click.echo(
        f"raw paho ceiling: {out['raw_ceiling']['rate']:,.0f} msgs/s;"
        f" naive: {out['naive']['rate']:,.0f} msgs/s"
        + (f"; Node-RED 4.1.8: {out['nodered']['rate']:,.0f} msgs/s" if "nodered" in out else "")
    )
    click.echo("ratios: " + ", ".join(f"{k} {v:.2f}x" for k, v in out["ratios"].items()))
    lat = out["latency"]
    click.echo(
        f"publish-to-commit at {lat['achieved_rate']:,.0f} msgs/s:"
        f" p50 {lat['p50_ms']:.0f} ms, p99 {lat['p99_ms']:.0f} ms"
    )
    if as_json:
        click.echo(json.dumps(out))
