"""The gateway benchmark's alert-feed clients: an SSE reader and a 1 s poller, timed."""

from __future__ import annotations

import http.client
import json
import statistics
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import click

from assetwatch.settings import Settings


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
    from ingest.bench import ingest_running
    from ingest.bench_support import bench_broker
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
