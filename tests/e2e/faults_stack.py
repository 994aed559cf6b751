"""The end-to-end fault tests' stack: own servers, the ingest and detect roles, a scripted fleet."""

from __future__ import annotations

import math
import random
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from assetwatch.embedded import free_port
from assetwatch.mqtt import parse_mqtt_url
from assetwatch.settings import Settings
from telemetry.schema import migrate
from tests.support.mosquitto import Client, MosquittoServer, current_user
from tests.support.pg import OwnPostgres
from tests.support.stack import (
    import_registry,
    registry_doc,
    spawn_run,
    terminate,
    wait_until,
)

DEVICES = 5
READINGS = 120  # per device, one per simulated minute
TAMPER_FROM = 60


@contextmanager
def own_postgres() -> Iterator[OwnPostgres]:
    """A PostgreSQL server of the module's own, which the fault tests restart."""
    # Not under pytest's tmp root: that is private to this user, and the server
    # runs as the unprivileged ``pgserver`` user when the tests run as root.
    root = Path(tempfile.mkdtemp(prefix="aw-e2e-pg-"))
    root.chmod(0o755)
    pg = OwnPostgres(root / "pg")
    pg.start()
    try:
        yield pg
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Stack:
    """One test's servers, processes and fleet."""

    tmp: Path
    pg: OwnPostgres
    db_url: str
    broker: MosquittoServer
    devices: list[str]
    env: dict[str, str]
    procs: dict[str, Any] = field(default_factory=dict)

    @property
    def mqtt_url(self) -> str:
        return f"mqtt://127.0.0.1:{self.broker.port}"

    def start_role(self, role: str) -> None:
        log = self.tmp / f"{role}.log"
        mark = log.stat().st_size if log.exists() else 0
        self.procs[role] = spawn_run([role], self.env, log)
        wait_until(
            lambda: "all roles ready" in log.read_text(errors="replace")[mark:],
            60,
            f"the {role} role to be ready",
        )

    def log(self, role: str) -> str:
        return (self.tmp / f"{role}.log").read_text(errors="replace")


def _broker_conf(tmp: Path, port: int) -> Path:
    data = tmp / "mqtt"
    data.mkdir(exist_ok=True)
    conf = tmp / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
        f"persistence_location {data}/\nmax_queued_messages 0\nautosave_interval 5\n"
        # As root Mosquitto would switch to the ``mosquitto`` user and then fail
        # to save its persistence file here, losing every session on restart.
        f"user {current_user()}\n"
    )
    return conf


@contextmanager
def fault_stack(own_pg: OwnPostgres, tmp_path: Path) -> Iterator[Stack]:
    """A fresh database on ``own_pg``, a Mosquitto of its own and the registered fleet."""
    name = f"aw_e2e_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(own_pg.url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    db_url = make_conninfo(own_pg.url, dbname=name)
    with psycopg.connect(db_url) as conn:
        migrate(conn)
        conn.commit()
    devices = [f"e2e{i}-{uuid.uuid4().hex[:4]}" for i in range(DEVICES)]
    doc = registry_doc(devices)
    for t in doc["terminals"]:
        t["expected_interval_s"] = 60
    # Two assets with one VIN under two pledges: the windowed double_pledge detector.
    doc["assets"][-1]["identity"] = dict(doc["assets"][-2]["identity"])
    import_registry(db_url, doc)
    port = free_port()
    broker = MosquittoServer(_broker_conf(tmp_path, port), port)
    broker.start()
    env = {
        "ASSETWATCH_DATABASE_URL": db_url,
        "ASSETWATCH_MQTT_URL": f"mqtt://127.0.0.1:{port}",
        "ASSETWATCH_INGEST_CLIENT_ID": f"e2e-ingest-{uuid.uuid4().hex[:6]}",
        "ASSETWATCH_DETECT_INTERVAL_S": "1",
        "ASSETWATCH_DETECT_CLOCK": "event",
        "ASSETWATCH_LOG_LEVEL": "INFO",
    }
    st = Stack(tmp_path, own_pg, db_url, broker, devices, env)
    try:
        yield st
    finally:
        for proc in st.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        broker.stop()
        if not own_pg.is_up():
            own_pg.start()
        with psycopg.connect(own_pg.url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def fleet_messages(devices: list[str]) -> list[tuple[str, int, bytes]]:
    """(device, seq, JSON) in publishing order: each device drives back and forth in its zone."""
    import json

    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=READINGS + 5)
    state = {
        d: {"lat": 31.25 + 0.02 * i, "lon": 121.2, "east": True, "eh": 1000.0, "odo": 5e4}
        for i, d in enumerate(devices)
    }
    rng = random.Random(42)
    out: list[tuple[str, int, bytes]] = []
    for seq in range(READINGS):
        for i, d in enumerate(devices):
            s = state[d]
            speed = rng.uniform(25, 55)
            step_km = speed / 60
            if s["lon"] > 121.6:
                s["east"] = False
            elif s["lon"] < 121.2:
                s["east"] = True
            dlon = step_km / (111.32 * math.cos(math.radians(s["lat"])))
            s["lon"] += dlon if s["east"] else -dlon
            s["lat"] += rng.uniform(-0.0005, 0.0005)
            s["eh"] += 1 / 60
            s["odo"] += step_km
            power_cut = i == 0 and seq >= TAMPER_FROM
            body = {
                "ts": (t0 + timedelta(minutes=seq)).isoformat().replace("+00:00", "Z"),
                "seq": seq,
                "lat": round(s["lat"], 6),
                "lon": round(s["lon"], 6),
                "speed_kmh": round(speed + rng.uniform(-2, 2), 1),
                "heading_deg": 90.0 if s["east"] else 270.0,
                "hdop": round(rng.uniform(0.7, 1.3), 2),
                "sats": rng.randint(8, 14),
                "ignition": True,
                "engine_on": True,
                "engine_hours": round(s["eh"], 3),
                "odometer_km": round(s["odo"], 3),
                "fuel_pct": round(80 - seq * 0.1 + rng.uniform(-0.5, 0.5), 1),
                "battery_v": round((11.9 if power_cut else 12.6) + rng.uniform(-0.15, 0.15), 2),
                "ext_power": not power_cut,
            }
            out.append((d, seq, json.dumps(body).encode()))
    return out


def publish_fleet(
    st: Stack, settings: Settings, *, fault: Callable[[], None] | None = None
) -> set[tuple[str, int]]:
    """Publish the fleet at QoS 1 (persistent session), calling ``fault`` halfway through."""
    msgs = fleet_messages(st.devices)
    pub = Client(
        parse_mqtt_url(st.mqtt_url),
        settings,
        client_id=f"e2e-pub-{uuid.uuid4().hex[:6]}",
        clean=False,
    )
    assert pub.connect().value == 0
    pub.client.reconnect_delay_set(min_delay=1, max_delay=2)
    acked: set[int] = set()
    pub.client.on_publish = lambda _c, _u, mid, _rc, _p: acked.add(mid)
    infos = []
    published: set[tuple[str, int]] = set()
    errors: list[BaseException] = []

    def run_fault() -> None:
        try:
            if fault is not None:
                fault()
        except BaseException as exc:
            errors.append(exc)

    faulting = threading.Thread(target=run_fault, daemon=True)
    try:
        for n, (dev, seq, payload) in enumerate(msgs):
            if fault is not None and n == len(msgs) // 2:
                faulting.start()
            infos.append(pub.client.publish(f"assetwatch/{dev}/telemetry", payload, qos=1))
            published.add((dev, seq))
            time.sleep(0.004)
        if fault is not None:
            faulting.join(timeout=120)
            assert not errors, errors
        # A publish made while the broker is down returns "not connected" but stays
        # queued in paho and goes out after the reconnect: count PUBACKs instead.
        want = {info.mid for info in infos}
        wait_until(lambda: want <= acked, 60, "PUBACK for every message")
    finally:
        pub.close()
    return published


def stored(st: Stack) -> tuple[int, set[tuple[str, int]]]:
    with psycopg.connect(st.db_url) as conn:
        rows = conn.execute("SELECT device_id, seq FROM readings").fetchall()
    return len(rows), {(str(d), int(s)) for d, s in rows}


def _stored_n(st: Stack) -> int:
    try:
        return stored(st)[0]
    except psycopg.OperationalError:
        return -1  # the database is restarting


def expected_alerts(st: Stack) -> set[tuple[str, str]]:
    return {
        (f"A-{st.devices[0]}", "tamper"),
        (f"A-{st.devices[-2]}", "double_pledge"),
        (f"A-{st.devices[-1]}", "double_pledge"),
    }


def check_outcome(st: Stack, published: set[tuple[str, int]]) -> None:
    """Readings stored == published (each once); alerts exactly the expected ones, raised once."""
    try:
        wait_until(lambda: _stored_n(st) >= len(published), 60, "every published reading stored")
    except AssertionError:
        missing = sorted(published - stored(st)[1])
        raise AssertionError(
            f"{len(missing)} of {len(published)} readings missing, e.g. {missing[:5]}\n"
            + st.log("ingest")[-3000:]
        ) from None
    n, keys = stored(st)
    assert n == len(published)
    assert keys == published
    want = expected_alerts(st)

    def alerts() -> set[tuple[str, str]]:
        with psycopg.connect(st.db_url) as conn:
            rows = conn.execute("SELECT asset_id, kind FROM alerts").fetchall()
        return {(str(a), str(k)) for a, k in rows}

    wait_until(lambda: alerts() >= want, 60, f"alerts {sorted(want)}")
    time.sleep(2)  # a few more windowed passes: nothing may be added or repeated
    assert alerts() == want
    with psycopg.connect(st.db_url) as conn:
        raised = conn.execute(
            "SELECT asset_id, kind, count(*) FROM alert_events WHERE event = 'raised' "
            "GROUP BY asset_id, kind"
        ).fetchall()
        rows = conn.execute("SELECT count(*) FROM alerts").fetchone()
    assert {(str(a), str(k)): int(c) for a, k, c in raised} == dict.fromkeys(want, 1)
    assert rows is not None
    assert rows[0] == len(want)


def start_roles(st: Stack) -> None:
    st.start_role("ingest")
    st.start_role("detect")


def finish_roles(st: Stack) -> None:
    for role in ("ingest", "detect"):
        rc = terminate(st.procs[role])
        assert rc == 0, st.log(role)[-3000:]
