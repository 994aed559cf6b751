"""``assetwatch bench ingest``: MQTT-to-database throughput against same-run baselines.

What is measured, all on one machine (broker, database and contenders local):

* **backlog drain**: N messages are published while the consumer is offline, so
  the broker queues them for its persistent session; then the consumer starts
  and the figure is rows committed per second from the first commit to the
  last (the publisher's own cost on a 2-core machine does not cap it);
* contenders on the same backlog: the ingest (single-reading JSON messages at
  QoS 1, and store-and-forward arrays, each by one process and by two in a
  shared-subscription group; the arrays also with two writer threads), the
  raw ceiling (a paho subscriber that only decodes the JSON), a naive
  baseline (one INSERT and COMMIT per message) and Node-RED 4.1.8 (mqtt in ->
  json -> function buffering rows and COPYing them with pg-copy-streams every
  1,000 rows or 1 s);
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
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
import psycopg

from assetwatch.settings import Settings, load_settings
from ingest.bench_peers import naive_baseline, nodered_drain, raw_ceiling
from ingest.bench_support import (
    Item,
    batched_items,
    bench_broker,
    bench_database,
    bench_query,
    drain_rate,
    forget_sessions,
    pledge_devices,
    publish,
    publish_in_child,
    register_devices,
    row_counter,
    settle,
    single_items,
    truncate_detectors,
    truncate_rows,
    wait_rows,
)
from ingest.service import IngestService


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


def _ingest_worker(
    settings: Settings, client_id: str, built: Any, go: Any, stop: Any, ready: Any
) -> None:
    """One ingest process (runs in a spawned child), as ``assetwatch ingest`` runs it.

    It waits for ``go`` after the imports, so several processes connect together.
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
def ingest_processes(
    settings: Settings, client_ids: list[str], *, wait_ready: bool = True
) -> Iterator[None]:
    """``len(client_ids)`` ingest processes of their own (spawned, not forked).

    Yields once all are up (``wait_ready``: subscribed; else: told to connect).
    """
    ctx = multiprocessing.get_context("spawn")
    go, stop = ctx.Event(), ctx.Event()
    builts = [ctx.Event() for _ in client_ids]
    readies = [ctx.Event() for _ in client_ids]
    procs = [
        ctx.Process(target=_ingest_worker, args=(settings, cid, b, go, stop, r), daemon=True)
        for cid, b, r in zip(client_ids, builts, readies, strict=True)
    ]
    for p in procs:
        p.start()
    try:
        for b in builts:  # imports done, service built: connect together
            if not b.wait(120):
                raise click.ClickException("an ingest process did not start")
        go.set()
        for r in readies if wait_ready else ():
            if not r.wait(60):
                raise click.ClickException("an ingest process did not subscribe")
        yield
    finally:
        stop.set()
        for p in procs:
            p.join(60)
            if p.is_alive():
                p.kill()


def ingest_drain(
    settings: Settings,
    db_url: str,
    broker_url: str,
    items: list[Item],
    workers: int = 1,
    readings: int | None = None,
) -> dict[str, float]:
    """Backlog drain by ``workers`` ingest processes (two or more share ``$share/bench/...``).

    Each is the normal ingest process, started on its own as ``assetwatch
    ingest`` is (not a thread of the benchmark, whose workload lists and earlier
    steps would weigh on its allocator and collector). The first start creates
    the persistent sessions; the backlog is published while they are offline;
    the second start drains it. Rows are counted in the database, as for the
    peers.
    """
    if workers > 1:
        settings = settings.model_copy(update={"ingest_shared_group": "bench"})
    cids = [f"bench-ingest-{uuid.uuid4().hex[:6]}" for _ in range(workers)]
    with ingest_processes(settings, cids):
        pass  # creates the persistent sessions and their subscriptions
    publish(broker_url, items)
    n = readings or len(items)
    with (
        row_counter(db_url, "count_readings") as poll,
        ingest_processes(settings, cids, wait_ready=False),
    ):
        first, at_first, last = wait_rows(poll, n)
    forget_sessions(broker_url, cids)
    return {"rate": drain_rate(first, at_first, last, n), "seconds": last - first}


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
    forget_sessions(broker_url, [cid])
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
    forget_sessions(broker_url, [cid])
    q = statistics.quantiles(latencies, n=100)
    return {"p50_ms": q[49] * 1000, "p99_ms": q[98] * 1000, "achieved_rate": len(items) / pub_s}


def machine(db_url: str) -> dict[str, Any]:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(bench_query("server_version")).fetchone()
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "postgresql": str(row[0]) if row else "?",
        "platform": platform.platform(),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
    }


@click.command("ingest")
@click.option("--messages", default=400_000, show_default=True, help="Single-reading messages.")
@click.option("--batched", default=8_000, show_default=True, help="Array messages (batched run).")
@click.option("--per-batch", default=100, show_default=True, help="Readings per array message.")
@click.option("--naive", "naive_n", default=10_000, show_default=True, help="Messages, naive run.")
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
        pledge_devices(db_url, devices)
        settings = base.model_copy(
            update={
                "database_url": db_url,
                "mqtt_url": broker.url,
                "metrics_port": None,
                "ingest_shared_group": None,
            }
        )
        single = single_items(devices, messages)
        out["ingest_writers"] = settings.ingest_writers

        checkpoints = settle(db_url)

        def step(name: str, fn: Callable[[], dict[str, float]]) -> None:
            truncate_rows(db_url)
            # Every contender starts from a checkpointed server: none pays for
            # writing out the rows of the step before it.
            if checkpoints:
                settle(db_url)
            t = time.perf_counter()
            out[name] = {k: round(v, 1) for k, v in fn().items()}
            click.echo(f"{name:<22} {out[name]}  ({time.perf_counter() - t:.0f} s)", err=True)

        step("raw_ceiling", lambda: raw_ceiling(broker.url, single))
        step("ingest_single", lambda: ingest_drain(settings, db_url, broker.url, single))
        # The same drain with the streaming detectors in each write transaction
        # (what `assetwatch run --role ingest` does).
        hooked = settings.model_copy(update={"ingest_commit_hook": "alerts.streaming:commit_hook"})
        truncate_detectors(db_url)
        step(
            "ingest_single_detectors",
            lambda: ingest_drain(hooked, db_url, broker.url, single),
        )
        step(
            "ingest_shared_2proc",
            lambda: ingest_drain(settings, db_url, broker.url, single, 2),
        )
        if not skip_nodered:
            step("nodered", lambda: nodered_drain(db_url, broker.url, broker_dir, single))
        step("naive", lambda: naive_baseline(db_url, broker.url, single[:naive_n]))
        arrays = batched_items(devices, batched, per_batch)
        step(
            "ingest_batched",
            lambda: ingest_drain(settings, db_url, broker.url, arrays, 1, batched * per_batch),
        )
        two_writers = settings.model_copy(update={"ingest_writers": 2})
        step(
            "ingest_batched_2writers",
            lambda: ingest_drain(two_writers, db_url, broker.url, arrays, 1, batched * per_batch),
        )
        step(
            "ingest_batched_2proc",
            lambda: ingest_drain(settings, db_url, broker.url, arrays, 2, batched * per_batch),
        )
        live = single_items(devices, messages // 2)
        step("ingest_live", lambda: ingest_live(settings, broker.url, live, len(live)))
        paced = single_items(devices, int(latency_rate * latency_seconds))
        if not checkpoints:
            click.echo("no CHECKPOINT before each step (needs pg_checkpoint)", err=True)
        step("latency", lambda: ingest_latency(settings, broker.url, paced, latency_rate))
        out["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    ing = out["ingest_single"]["rate"]
    two = out["ingest_shared_2proc"]["rate"]
    pairs = {
        "detectors_on_vs_off": (out["ingest_single_detectors"]["rate"], ing),
        "vs_raw_ceiling": (ing, out["raw_ceiling"]["rate"]),
        "vs_naive": (ing, out["naive"]["rate"]),
    }
    if "nodered" in out:
        pairs["vs_nodered"] = (ing, out["nodered"]["rate"])
        pairs["2proc_vs_nodered"] = (two, out["nodered"]["rate"])
    # A rate of 0 means a contender drained its whole backlog between two
    # samples of the row count: too few messages to time, so no ratio.
    out["ratios"] = {k: round(a / b, 2) for k, (a, b) in pairs.items() if a > 0 and b > 0}
    untimed = sorted(k for k, v in out.items() if isinstance(v, dict) and v.get("rate") == 0)
    if untimed:
        click.echo(
            f"not timed (backlog drained between two samples; raise --messages): {untimed}",
            err=True,
        )
    m = out["machine"]
    click.echo(
        f"machine: {m['cpus']} cores, Python {m['python']}, PostgreSQL {m['postgresql']},"
        f" load {m['loadavg_start']} -> {m['loadavg_end']}"
    )
    click.echo(f"writer threads per ingest process: {out['ingest_writers']}")
    click.echo(f"ingest single-reading backlog drain, one process: {ing:,.0f} msgs/s")
    click.echo(
        "ingest single-reading backlog drain, one process, streaming detectors on:"
        f" {out['ingest_single_detectors']['rate']:,.0f} msgs/s"
    )
    click.echo(
        "ingest single-reading backlog drain, two processes ($share group):"
        f" {out['ingest_shared_2proc']['rate']:,.0f} msgs/s"
    )
    click.echo(
        f"ingest batched ({per_batch}/msg): {out['ingest_batched']['rate']:,.0f} readings/s;"
        f" two writer threads: {out['ingest_batched_2writers']['rate']:,.0f} readings/s;"
        f" two processes ($share group): {out['ingest_batched_2proc']['rate']:,.0f} readings/s"
    )
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
