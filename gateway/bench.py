"""``assetwatch bench gateway``: the gateway's figures against same-run baselines.

What is measured, all on this machine (gateway, database and broker local):

1. latest state of 10,000 assets over HTTP (``GET /api/telemetry/latest``),
   after 100 and 1,000 assets reported since the previous request and with no
   change, against (a) the whole document built by PostgreSQL per request,
   (b) one query per asset, as a naive client of the database would ask, and
   (c) the same data through ``telemetry.queries.latest_states`` with one
   Python object per row serialised by the gateway;
2. the first page of the alert queue over HTTP (100 of 100,000 alerts,
   newest activity first), against the same query with index scans turned off
   (what it costs without the gateway's index);
3. publish-to-subscriber latency of an alert: a terminal publishes a tamper
   reading to MQTT, ingest stores it, the streaming detector raises the alert,
   and an SSE client of ``/api/feed/alerts`` receives it; against a client
   polling ``GET /api/alerts`` once a second.

The database is created for the run and dropped after; the broker is a
Mosquitto of the benchmark's own.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import click
import psycopg

from assetwatch.cli import settings_of
from assetwatch.settings import Settings
from gateway.app import start_in_thread
from gateway.bench_feed import Http, feed_latency
from gateway.bench_seed import bench_database, bench_query, seed
from telemetry.db import Conn
from telemetry.sqlfiles import query


def timed(fn: Callable[[], Any], runs: int) -> list[float]:
    """Wall-clock seconds of ``runs`` calls (after one warm-up call)."""
    fn()
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def summary(samples: list[float]) -> dict[str, float]:
    s = sorted(samples)
    return {"median_ms": statistics.median(s) * 1000, "p95_ms": s[int(0.95 * (len(s) - 1))] * 1000}


def naive_latest(url: str, assets: int) -> float:
    with psycopg.connect(url) as conn:
        t = time.perf_counter()
        for i in range(assets):
            conn.execute(query("gateway", "latest_one_naive"), {"asset_id": f"A{i:05d}"}).fetchone()
        return time.perf_counter() - t


def via_latest_states(conn: Conn) -> bytes:
    """The latest-state answer built from telemetry.queries objects, serialised in Python."""
    from telemetry.queries import latest_states

    bound: dict[str, str] = dict(conn.execute(bench_query("active_bindings")).fetchall())
    out = []
    for device_id, st in latest_states(conn).items():
        r = st.reading
        out.append(
            {
                "asset_id": bound.get(device_id),
                "device_id": device_id,
                "ts": r.ts.isoformat(),
                "lat": r.lat,
                "lon": r.lon,
                "speed_kmh": r.speed_kmh,
                "engine_hours": r.engine_hours,
                "metrics": dict(r.metrics or {}),
            }
        )
    return json.dumps(out).encode()


def full_build(conn: Conn) -> str:
    """Baseline: the whole document built by PostgreSQL for every request (no fragments)."""
    row = conn.execute(query("gateway", "latest_json"), {"asset_ids": None}).fetchone()
    return str(row[0]) if row else "[]"


def latest_with_churn(
    url: str, client: Http, assets: int, changed: int, runs: int
) -> dict[str, float]:
    """GET latest after ``changed`` assets reported a new reading (only the GET is timed)."""
    from telemetry.model import Reading
    from telemetry.store import ReadingWriter

    writer = ReadingWriter(Settings(database_url=url))
    samples = []
    with psycopg.connect(url) as conn:
        for run in range(runs):
            ts = datetime.now(UTC) - timedelta(seconds=runs - run)
            start = (run * changed) % assets
            readings = [
                Reading(
                    device_id=f"D{(start + j) % assets:05d}",
                    ts=ts,
                    seq=2 + run,
                    lat=31.0,
                    lon=121.0 + j * 1e-4,
                    speed_kmh=10.0,
                    source="json",
                )
                for j in range(changed)
            ]
            writer.write(conn, readings)
            conn.commit()
            t = time.perf_counter()
            client.get("/api/telemetry/latest")
            samples.append(time.perf_counter() - t)
    return summary(samples)


def machine(url: str) -> str:
    from telemetry.schema import timescaledb_version

    with psycopg.connect(url) as conn:
        row = conn.execute(bench_query("server_version")).fetchone()
        ts = timescaledb_version(conn)
    layout = f"TimescaleDB {ts}" if ts else "plain, no TimescaleDB"
    return (
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"PostgreSQL {row[0] if row else '?'} ({layout}), "
        f"load average {os.getloadavg()[0]:.1f} (other work on the machine)"
    )


@click.command("gateway")
@click.option("--assets", default=10_000, show_default=True, help="assets (one terminal each)")
@click.option("--alerts", default=100_000, show_default=True, help="alerts in the queue")
@click.option("--runs", default=20, show_default=True, help="timed requests per figure")
@click.option("--feed-devices", default=10, show_default=True, help="alerts raised via MQTT")
@click.option("--json", "as_json", is_flag=True, help="print the figures as one JSON object")
@click.pass_context
def bench_gateway(
    ctx: click.Context, assets: int, alerts: int, runs: int, feed_devices: int, as_json: bool
) -> None:
    """Latest state of 10,000 assets, the alert queue's first page, alert feed latency."""
    settings = settings_of(ctx)
    with bench_database(settings) as url:
        t = time.perf_counter()
        token = seed(url, assets, alerts)
        seed_s = time.perf_counter() - t
        gw = start_in_thread(Settings(database_url=url, http_port=0), start_webhooks=False)
        try:
            client = Http(gw.url, token)
            n = len(json.loads(client.get("/api/telemetry/latest")))
            churn = {k: latest_with_churn(url, client, assets, k, runs) for k in (100, 1000)}
            latest = summary(timed(lambda: client.get("/api/telemetry/latest"), runs))
            naive_s = naive_latest(url, assets)
            with psycopg.connect(url) as conn:
                objects = summary(timed(lambda: via_latest_states(conn), max(3, runs // 4)))
                full = summary(timed(lambda: full_build(conn), max(3, runs // 2)))
            page = summary(timed(lambda: client.get("/api/alerts?limit=100"), runs * 2))
            red = summary(
                timed(lambda: client.get("/api/alerts?limit=100&level=red&region=CN-12"), runs * 2)
            )
            with psycopg.connect(url) as conn:
                params = {
                    "level": None,
                    "statuses": ["open", "acknowledged"],
                    "kind": None,
                    "asset_id": None,
                    "borrower_id": None,
                    "region": None,
                    "industry": None,
                    "officer": None,
                    "assignee": None,
                    "since": None,
                    "until": None,
                    "limit": 101,
                    "offset": 0,
                }
                sql_page = summary(
                    timed(
                        lambda: conn.execute(query("gateway", "alerts_page"), params).fetchall(),
                        runs,
                    )
                )
                conn.execute(bench_query("disable_index_scans"))
                conn.execute(bench_query("disable_bitmap_scans"))
                noindex = summary(
                    timed(
                        lambda: conn.execute(query("gateway", "alerts_page"), params).fetchall(),
                        max(3, runs // 4),
                    )
                )
            feed = feed_latency(url, gw.url, token, feed_devices) if feed_devices else {}
        finally:
            gw.stop()
        figures: dict[str, Any] = {
            "machine": machine(url),
            "assets": assets,
            "alerts": alerts,
            "seed_s": round(seed_s, 1),
            "latest_http": {**latest, "assets_returned": n},
            "latest_http_after_100_changed": churn[100],
            "latest_http_after_1000_changed": churn[1000],
            "latest_full_build_sql": full,
            "latest_naive_per_asset_queries_ms": naive_s * 1000,
            "latest_via_queries_objects": objects,
            "alerts_first_page_http": page,
            "alerts_first_page_filtered_http": red,
            "alerts_first_page_sql": sql_page,
            "alerts_first_page_sql_without_index": noindex,
            "feed": feed,
        }
    if as_json:
        click.echo(json.dumps(figures))
        return
    _print(figures)


def _print(f: dict[str, Any]) -> None:
    lh = f["latest_http"]
    click.echo(f"machine: {f['machine']}")
    click.echo(
        f"data: {f['assets']} assets with a terminal each, {f['alerts']} alerts "
        f"(seeded in {f['seed_s']} s)"
    )
    click.echo(
        f"latest state of {lh['assets_returned']} assets over HTTP, nothing changed since the "
        f"previous request: median {lh['median_ms']:.1f} ms, p95 {lh['p95_ms']:.1f} ms "
        "(target < 100 ms)"
    )
    for k in (100, 1000):
        c = f[f"latest_http_after_{k}_changed"]
        click.echo(
            f"  after {k} assets reported since the previous request: "
            f"median {c['median_ms']:.1f} ms, p95 {c['p95_ms']:.1f} ms"
        )
    fb = f["latest_full_build_sql"]["median_ms"]
    click.echo(
        f"  baseline whole document built by PostgreSQL per request (SQL only): {fb:.1f} ms "
        f"-> {fb / lh['median_ms']:.1f}x slower"
    )
    naive = f["latest_naive_per_asset_queries_ms"]
    obj = f["latest_via_queries_objects"]["median_ms"]
    click.echo(
        f"  baseline one query per asset (no HTTP): {naive:.0f} ms "
        f"-> {naive / lh['median_ms']:.1f}x slower"
    )
    click.echo(
        f"  baseline telemetry.queries objects + Python JSON (no HTTP): {obj:.1f} ms "
        f"-> {obj / lh['median_ms']:.1f}x slower"
    )
    p = f["alerts_first_page_http"]
    click.echo(
        f"alert queue first page (100 of {f['alerts']}) over HTTP: "
        f"median {p['median_ms']:.1f} ms, p95 {p['p95_ms']:.1f} ms (target < 50 ms)"
    )
    r = f["alerts_first_page_filtered_http"]
    click.echo(f"  filtered (level=red, region): median {r['median_ms']:.1f} ms")
    s, ni = f["alerts_first_page_sql"], f["alerts_first_page_sql_without_index"]
    click.echo(
        f"  the query alone: {s['median_ms']:.2f} ms; without index scans "
        f"{ni['median_ms']:.1f} ms -> {ni['median_ms'] / s['median_ms']:.0f}x slower"
    )
    feed = f["feed"]
    if feed:
        sse, poll = feed["sse"], feed["poll_1s"]
        click.echo(
            f"alert feed, MQTT publish -> SSE subscriber ({sse['received']:.0f} alerts): "
            f"median {sse.get('median_ms', float('nan')):.0f} ms, "
            f"max {sse.get('max_ms', float('nan')):.0f} ms (target < 1000 ms)"
        )
        click.echo(
            f"  baseline polling GET /api/alerts every 1 s ({poll['received']:.0f}): "
            f"median {poll.get('median_ms', float('nan')):.0f} ms, "
            f"max {poll.get('max_ms', float('nan')):.0f} ms"
        )


__all__ = ["bench_gateway"]
