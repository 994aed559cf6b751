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

import http.client
import json
import os
import platform
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import click
import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from assetwatch.cli import settings_of
from assetwatch.settings import Settings
from gateway.app import start_in_thread
from gateway.auth import create_key
from telemetry.db import Conn
from telemetry.schema import migrate
from telemetry.sqlfiles import query

KINDS = (
    "zone_exit",
    "relocation",
    "moved_while_parked",
    "idle",
    "decline",
    "offline",
    "tamper",
    "spoofing",
    "fabrication",
    "double_pledge",
)
LEVELS = ("red", "orange", "yellow", "watch")
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _q(name: str) -> Any:
    return query("gateway", name, "bench.sql")


@contextmanager
def bench_database(settings: Settings) -> Iterator[str]:
    admin = settings.database_url or "postgresql://postgres@127.0.0.1:5432/postgres"
    name = f"aw_bench_gateway_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_conninfo(admin, dbname=name)
    try:
        with psycopg.connect(url) as conn:
            migrate(conn)
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def seed(url: str, assets: int, alerts: int) -> str:
    """Registry of ``assets`` equipment assets with a terminal each, their latest state and
    ``alerts`` alerts; returns an admin API token."""
    from collateral.document import parse_document
    from collateral.registry import import_document
    from telemetry.model import Reading
    from telemetry.store import ReadingWriter

    borrowers = [
        {
            "id": f"B{b:04d}",
            "name": f"Borrower {b}",
            "industry": ("logistics", "farming", "fishing", "construction")[b % 4],
            "region": f"CN-{11 + b % 20}",
            "officer": f"officer.{b % 12}",
        }
        for b in range(max(1, assets // 50))
    ]
    nb = len(borrowers)
    doc = {
        "format": "assetwatch-registry/1",
        "borrowers": borrowers,
        "loans": [
            {
                "id": f"L{i:05d}",
                "borrower_id": f"B{i % nb:04d}",
                "amount": 100000 + i,
                "currency": "CNY",
                "product": ("equipment_loan", "working_capital")[i % 2],
                "start": "2026-01-01",
                "end": "2028-01-01",
                "status": "active",
            }
            for i in range(nb * 2)
        ],
        "assets": [
            {
                "id": f"A{i:05d}",
                "borrower_id": f"B{i % nb:04d}",
                "class": "equipment",
                "name": f"Machine {i}",
                "identity": {"serial": f"SN{i:06d}"},
            }
            for i in range(assets)
        ],
        "terminals": [
            {"device_id": f"D{i:05d}", "protocol": "json", "expected_interval_s": 60}
            for i in range(assets)
        ],
        "bindings": [
            {
                "device_id": f"D{i:05d}",
                "asset_id": f"A{i:05d}",
                "from": "2026-01-01T00:00:00Z",
                "by": "bench",
                "why": "installation",
            }
            for i in range(assets)
        ],
        "pledges": [
            {
                "asset_id": f"A{i:05d}",
                "loan_id": f"L{(i % nb) * 2:05d}",
                "from": "2026-01-01T00:00:00Z",
                "by": "bench",
                "why": "origination",
            }
            for i in range(assets)
        ],
    }
    with psycopg.connect(url) as conn:
        import_document(conn, parse_document(doc), actor="bench")
        readings = [
            Reading(
                device_id=f"D{i:05d}",
                ts=T0 + timedelta(seconds=i),
                seq=1,
                lat=30 + (i % 100) * 0.05,
                lon=110 + (i // 100) * 0.05,
                speed_kmh=0.0,
                engine_on=False,
                engine_hours=100.0 + i,
                source="json",
            )
            for i in range(assets)
        ]
        ReadingWriter(Settings(database_url=url)).write(conn, readings)
        with conn.cursor() as cur, cur.copy(_q("copy_alerts")) as copy:
            for i in range(alerts):
                asset = i % assets
                kind = KINDS[(i // assets) % len(KINDS)]
                level = LEVELS[i % 4]
                status = ("open", "open", "acknowledged")[i % 3] if i % 10 < 3 else "resolved"
                seen = T0 + timedelta(seconds=i * 7)
                copy.write_row(
                    (
                        f"A{asset:05d}",
                        f"D{asset:05d}",
                        kind,
                        level,
                        level,
                        status,
                        seen - timedelta(hours=1),
                        seen,
                        "{}",
                    )
                )
        conn.execute(_q("analyze"))
        token = create_key(conn, role="admin", name="bench").token
        conn.commit()
    return token


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


class Http:
    """One keep-alive HTTP connection with the API key set."""

    def __init__(self, base: str, token: str) -> None:
        parts = urlsplit(base)
        self.conn = http.client.HTTPConnection(
            parts.hostname or "127.0.0.1", parts.port, timeout=30
        )
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str) -> bytes:
        try:
            self.conn.request("GET", path, headers=self.headers)
            resp = self.conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionError):
            # The server closes idle keep-alive connections; open a new one once.
            self.conn.close()
            self.conn.request("GET", path, headers=self.headers)
            resp = self.conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            raise click.ClickException(f"GET {path} -> {resp.status}: {body[:200]!r}")
        return body


def naive_latest(url: str, assets: int) -> float:
    with psycopg.connect(url) as conn:
        t = time.perf_counter()
        for i in range(assets):
            conn.execute(query("gateway", "latest_one_naive"), {"asset_id": f"A{i:05d}"}).fetchone()
        return time.perf_counter() - t


def via_latest_states(conn: Conn) -> bytes:
    """The latest-state answer built from telemetry.queries objects, serialised in Python."""
    from telemetry.queries import latest_states

    bound: dict[str, str] = dict(conn.execute(_q("active_bindings")).fetchall())
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
        row = conn.execute(_q("server_version")).fetchone()
        ts = timescaledb_version(conn)
    layout = f"TimescaleDB {ts}" if ts else "plain, no TimescaleDB"
    return (
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"PostgreSQL {row[0] if row else '?'} ({layout}), "
        f"load average {os.getloadavg()[0]:.1f} (other work on the machine)"
    )


class SseClient(threading.Thread):
    """Reads ``/api/feed/alerts``; records when each asset's first alert event arrived.

    A seeded asset may already hold an open tamper alert: the reading then
    updates it (``recurred``/``escalated``) instead of raising a new one.
    """

    def __init__(self, base: str, token: str) -> None:
        super().__init__(daemon=True)
        parts = urlsplit(base)
        self.conn = http.client.HTTPConnection(
            parts.hostname or "127.0.0.1", parts.port, timeout=60
        )
        self.token = token
        self.seen: dict[str, float] = {}
        self.ready = threading.Event()
        self.error: Exception | None = None

    def run(self) -> None:
        self.conn.request(
            "GET", "/api/feed/alerts?wait_s=120", headers={"Authorization": f"Bearer {self.token}"}
        )
        resp = self.conn.getresponse()
        self.ready.set()
        event = ""
        while True:
            line = resp.readline()
            if not line:
                return
            text = line.decode().rstrip("\r\n")
            if text.startswith("event: "):
                event = text[7:]
            elif text.startswith("data: ") and event in ("raised", "recurred", "escalated"):
                self.seen.setdefault(json.loads(text[6:])["asset_id"], time.perf_counter())


class Poller(threading.Thread):
    """Baseline: asks ``GET /api/alerts`` once a second, as a page without a live feed would."""

    def __init__(self, base: str, token: str, since: datetime, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.http = Http(base, token)
        self.path = f"/api/alerts?kind=tamper&since={since.isoformat().replace('+00:00', 'Z')}"
        self.seen: dict[str, float] = {}
        self.stop = stop

    def run(self) -> None:
        while not self.stop.is_set():
            now = time.perf_counter()
            for item in json.loads(self.http.get(self.path))["items"]:
                self.seen.setdefault(item["asset_id"], now)
            self.stop.wait(1.0)


def feed_latency(url: str, base: str, token: str, devices: int) -> dict[str, dict[str, float]]:
    """Publish a tamper reading per device; time until the SSE client and the poller see it."""
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    from assetwatch.run import with_default_hook
    from ingest.bench import bench_broker, ingest_running
    from ingest.service import load_commit_hook

    with bench_broker() as (broker, _):
        settings = Settings(
            database_url=url, mqtt_url=broker.url, ingest_commit_hook="alerts.streaming:commit_hook"
        )
        hook = load_commit_hook(with_default_hook(settings))
        with ingest_running(settings, f"bench-gw-{uuid.uuid4().hex[:6]}", commit_hook=hook):
            sse = SseClient(base, token)
            sse.start()
            sse.ready.wait(10)
            stop = threading.Event()
            poller = Poller(base, token, datetime.now(UTC) - timedelta(minutes=5), stop)
            poller.start()
            pub = paho.Client(
                CallbackAPIVersion.VERSION2, client_id=f"bench-{uuid.uuid4().hex[:6]}"
            )
            host, port = broker.url.removeprefix("mqtt://").split(":")
            pub.connect(host, int(port))
            pub.loop_start()
            published: dict[str, float] = {}
            # Assets whose seeded tamper alert is resolved, so the reading raises a new one
            # (an alert still open is only updated, which is not a feed event).
            chosen = [10 * k + 5 for k in range(devices)]
            for i in chosen:
                reading = {
                    "ts": datetime.now(UTC).isoformat(),
                    "lat": 30.0,
                    "lon": 110.0,
                    "tamper": True,
                    "ext_power": False,
                    "alarms": ["case_opened"],
                }
                published[f"A{i:05d}"] = time.perf_counter()
                pub.publish(
                    f"assetwatch/D{i:05d}/telemetry", json.dumps(reading), qos=1
                ).wait_for_publish()
                time.sleep(0.5)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and (
                len(sse.seen) < devices or len(poller.seen) < devices
            ):
                time.sleep(0.1)
            stop.set()
            pub.loop_stop()
            pub.disconnect()

    def lat(seen: dict[str, float]) -> dict[str, float]:
        got = [seen[a] - t for a, t in published.items() if a in seen]
        if not got:
            return {"received": 0.0}
        return {
            "received": float(len(got)),
            "median_ms": statistics.median(got) * 1000,
            "max_ms": max(got) * 1000,
        }

    if sse.error is not None:
        raise click.ClickException(f"the SSE client failed: {sse.error!r}")
    return {"sse": lat(sse.seen), "poll_1s": lat(poller.seen)}


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
                conn.execute(_q("disable_index_scans"))
                conn.execute(_q("disable_bitmap_scans"))
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
