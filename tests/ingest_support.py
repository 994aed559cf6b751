"""Helpers for the ingest tests: terminals in the registry, publishing, waiting."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as paho
import psycopg
from paho.mqtt.enums import CallbackAPIVersion
from psycopg import sql
from psycopg.conninfo import make_conninfo

from assetwatch.embedded import EmbeddedServer, start_broker
from assetwatch.mqtt import parse_mqtt_url
from assetwatch.settings import Settings
from ingest.service import IngestService
from telemetry.schema import migrate


def register(db_url: str, device_id: str, protocol: str = "json", **ids: Any) -> None:
    """Insert one terminal (and its device profile when ``profile`` is given)."""
    profile = ids.pop("profile", None)
    with psycopg.connect(db_url) as conn:
        if profile is not None:
            conn.execute(
                "INSERT INTO device_profiles (name, mapping) VALUES (%s, %s)"
                " ON CONFLICT (name) DO UPDATE SET mapping = EXCLUDED.mapping",
                (f"p-{device_id}", orjson.dumps(profile).decode()),
            )
        conn.execute(
            "INSERT INTO terminals (device_id, protocol, jt808_phone, mmsi, dev_eui,"
            " aemp_serial, device_profile) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (
                device_id,
                protocol,
                ids.get("jt808_phone"),
                ids.get("mmsi"),
                ids.get("dev_eui"),
                ids.get("aemp_serial"),
                f"p-{device_id}" if profile is not None else None,
            ),
        )


def publisher(mqtt_url: str, *, persistent: bool = False) -> paho.Client:
    """A connected QoS 1 publisher with its network loop running (it reconnects by itself)."""
    target = parse_mqtt_url(mqtt_url)
    client = paho.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"pub-{uuid.uuid4().hex[:8]}",
        clean_session=not persistent,
    )
    client.max_inflight_messages_set(1000)
    client.reconnect_delay_set(1, 2)
    client.connect(target.host, target.port)
    client.loop_start()
    return client


def publish_all(client: paho.Client, items: Sequence[tuple[str, bytes]]) -> None:
    infos = [client.publish(t, p, qos=1) for t, p in items]
    for info in infos:
        info.wait_for_publish(timeout=30)


def count(db_url: str, sql: str, params: Sequence[Any] = ()) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(sql, params).fetchone()
        return int(row[0]) if row else 0


def wait_until(pred: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return pred()


@contextmanager
def running_ingest(settings: Settings, **kw: Any) -> Iterator[IngestService]:
    """An ingest service in a thread of this process, stopped on exit."""
    service = IngestService(settings, **kw)
    stop, ready = threading.Event(), threading.Event()
    thread = threading.Thread(target=service.run, args=(stop, ready), daemon=True)
    thread.start()
    try:
        assert ready.wait(20), "ingest did not subscribe"
        yield service
    finally:
        stop.set()
        thread.join(30)


def broker_dir() -> Path:
    """A directory Mosquitto can persist into.

    Started as root, Mosquitto drops to the ``mosquitto`` user, which can neither
    enter pytest's private tmp tree nor write a root-owned directory, and then
    silently keeps no persistence: so the directory is world-writable, under /tmp.
    """
    path = Path(tempfile.mkdtemp(prefix="aw-ingest-mqtt-"))
    path.chmod(0o777)
    return path


@contextmanager
def own_broker() -> Iterator[EmbeddedServer]:
    """A Mosquitto of this test's own (nothing else publishes there)."""
    directory = broker_dir()
    broker = start_broker(directory)
    try:
        yield broker
    finally:
        broker.stop()
        shutil.rmtree(directory, ignore_errors=True)


def create_database(admin_url: str) -> str:
    """A new, migrated database on ``admin_url``'s server; returns its URL."""
    name = f"aw_ingest_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_conninfo(admin_url, dbname=name)
    with psycopg.connect(url) as conn:
        migrate(conn)
    return url


def telemetry_items(device: str, n: int, *, start: int = 0) -> list[tuple[str, bytes]]:
    """``n`` single-reading JSON messages with seq ``start .. start+n-1``."""
    t0 = datetime.now(UTC) - timedelta(hours=2)
    return [
        (
            f"assetwatch/{device}/telemetry",
            orjson.dumps(
                {
                    "ts": (t0 + timedelta(milliseconds=10 * i)).isoformat(),
                    "seq": i,
                    "lat": 31.2,
                    "lon": 121.4,
                    "speed_kmh": float(i % 90),
                }
            ),
        )
        for i in range(start, start + n)
    ]
