"""End to end with faults: publish → ingest → detect → alerts (and the gateway's feed).

Everything is real and of the test's own, because the faults restart things:
a Mosquitto with persistence on a free port, a PostgreSQL server in a temp
directory, ``assetwatch run --role ingest`` and ``--role detect`` processes.
A small fleet publishes one-minute readings (QoS 1, persistent session) with
one scripted power cut (``tamper``) and two assets sharing a VIN under two
pledges (``double_pledge``, a windowed detector). Mid-stream one fault is
injected; afterwards the readings stored must equal the readings published,
and the alerts must be exactly the expected ones, each raised once.
"""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from assetwatch.mqtt import parse_mqtt_url
from assetwatch.settings import Settings, load_settings
from tests.e2e.faults_stack import (
    Stack,
    check_outcome,
    expected_alerts,
    fault_stack,
    finish_roles,
    own_postgres,
    publish_fleet,
    start_roles,
)
from tests.support.mosquitto import Client
from tests.support.pg import OwnPostgres
from tests.support.stack import (
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def own_pg() -> Iterator[OwnPostgres]:
    with own_postgres() as pg:
        yield pg


@pytest.fixture
def stack(own_pg: OwnPostgres, tmp_path: Path) -> Iterator[Stack]:
    with fault_stack(own_pg, tmp_path) as st:
        yield st


def test_e2e_pipeline_alerts_reach_the_feed(stack: Stack, settings: Settings) -> None:
    downstream = Client(parse_mqtt_url(stack.mqtt_url), settings)
    assert downstream.connect().value == 0
    downstream.subscribe("assetwatch/alerts/#")
    start_roles(stack)
    published = publish_fleet(stack, settings)
    check_outcome(stack, published)
    # The detect role's publisher puts every alert event on MQTT for downstream systems.
    seen: set[str] = set()

    def alert_topics() -> bool:
        while not downstream.messages.empty():
            seen.add(downstream.messages.get().topic.rsplit("/", 1)[-1])
        return {a for a, _ in expected_alerts(stack)} <= seen

    try:
        wait_until(alert_topics, 30, "alert events on assetwatch/alerts/#")
    finally:
        downstream.close()
    # The gateway's feed shows them.
    from gateway.app import start_in_thread
    from gateway.auth import create_key

    with psycopg.connect(stack.db_url) as conn:
        key = create_key(conn, role="admin", name="e2e")
        conn.commit()
    gw = start_in_thread(load_settings(database_url=stack.db_url, http_port=0))
    try:
        r = httpx.get(
            f"{gw.url}/api/feed/alerts/events",
            params={"after": 0, "limit": 1000},
            headers={"Authorization": f"Bearer {key.token}"},
            timeout=10,
        )
        assert r.status_code == 200, r.text
        raised = {
            (e["data"]["asset_id"], e["data"]["kind"]) for e in r.json() if e["type"] == "raised"
        }
        assert raised == expected_alerts(stack)
    finally:
        gw.stop()
    finish_roles(stack)


def test_e2e_broker_restart_mid_stream(stack: Stack, settings: Settings) -> None:
    start_roles(stack)

    def restart_broker() -> None:
        stack.broker.stop()
        time.sleep(1.0)
        stack.broker.start()

    published = publish_fleet(stack, settings, fault=restart_broker)
    check_outcome(stack, published)
    finish_roles(stack)


def test_e2e_database_restart_mid_stream(stack: Stack, settings: Settings) -> None:
    start_roles(stack)

    def restart_db() -> None:
        stack.pg.stop()
        time.sleep(2.0)
        stack.pg.start()

    published = publish_fleet(stack, settings, fault=restart_db)
    check_outcome(stack, published)
    finish_roles(stack)


def test_e2e_ingest_sigkill_mid_stream(stack: Stack, settings: Settings) -> None:
    """The streaming detectors run inside ingest: killing it also kills them mid-batch."""
    start_roles(stack)

    def kill_ingest() -> None:
        stack.procs["ingest"].send_signal(signal.SIGKILL)
        stack.procs["ingest"].wait()
        time.sleep(0.5)
        stack.start_role("ingest")

    published = publish_fleet(stack, settings, fault=kill_ingest)
    check_outcome(stack, published)
    finish_roles(stack)


def test_e2e_detector_process_killed(stack: Stack, settings: Settings) -> None:
    start_roles(stack)

    def kill_detect() -> None:
        for _ in range(3):
            time.sleep(random.uniform(0.1, 0.8))
            stack.procs["detect"].send_signal(signal.SIGKILL)
            stack.procs["detect"].wait()
            stack.start_role("detect")

    published = publish_fleet(stack, settings, fault=kill_detect)
    check_outcome(stack, published)
    finish_roles(stack)
