"""The ingest benchmark's peers on the same backlog: raw paho, naive INSERT, Node-RED."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import click
import orjson
import paho.mqtt.client as paho
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from ingest.bench_support import (
    NODERED_CFG,
    NODERED_DIR,
    Item,
    bench_query,
    broker_port,
    drain_rate,
    forget_sessions,
    publish,
    row_counter,
    wait_rows,
)


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
        c.connect("127.0.0.1", broker_port(broker_url))
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
    forget_sessions(broker_url, [cid])
    if "last" not in stamps:
        raise click.ClickException(f"raw subscriber got {got['n']} of {len(items)}")
    return {"rate": (len(items) - 1) / (stamps["last"] - stamps["first"])}


def naive_baseline(db_url: str, broker_url: str, items: list[Item]) -> dict[str, float]:
    """One INSERT and one COMMIT per message (a paho subscriber, backlog drain)."""
    cid = f"bench-naive-{uuid.uuid4().hex[:6]}"
    conn = psycopg.connect(db_url)
    stmt = bench_query("naive_insert")
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
        c.connect("127.0.0.1", broker_port(broker_url))
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
    forget_sessions(broker_url, [cid])
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
    flows = flows.replace("@MQTT_PORT@", str(broker_port(broker_url))).replace("@CLIENT_ID@", cid)
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
        with row_counter(db_url, "count_nodered") as poll:
            first, at_first, last = wait_rows(poll, len(items), timeout=180)
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log = (work / "log").read_text(errors="replace")
        shutil.rmtree(work, ignore_errors=True)
        forget_sessions(broker_url, [cid])
    if "rror" in log:
        click.echo(f"node-red log:\n{log[-2000:]}", err=True)
    return {"rate": drain_rate(first, at_first, last, len(items))}


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
