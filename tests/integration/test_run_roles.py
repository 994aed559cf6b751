"""``assetwatch run --role ingest`` as a real process: takes readings, stops cleanly on SIGTERM."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from assetwatch.embedded import EmbeddedServer, start_broker
from assetwatch.mqtt import parse_mqtt_url
from assetwatch.settings import Settings
from tests.support.mosquitto import Client
from tests.support.stack import (
    count,
    import_registry,
    reading,
    registry_doc,
    spawn_run,
    terminate,
    wait_until,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[EmbeddedServer]:
    broker = start_broker(tmp_path / "mqtt")
    try:
        yield broker
    finally:
        broker.stop()


def test_run_ingest_role_stores_and_stops_cleanly(
    db_url: str, own_broker: EmbeddedServer, tmp_path: Path, settings: Settings
) -> None:
    devices = [f"run-{uuid.uuid4().hex[:6]}-{i}" for i in range(3)]
    import_registry(db_url, registry_doc(devices))
    log = tmp_path / "run.log"
    env = {
        "ASSETWATCH_DATABASE_URL": db_url,
        "ASSETWATCH_MQTT_URL": own_broker.url,
        "ASSETWATCH_INGEST_CLIENT_ID": f"run-test-{uuid.uuid4().hex[:8]}",
        "ASSETWATCH_INGEST_COMMIT_HOOK": "",
    }
    proc = spawn_run(["ingest"], env, log)
    pub = Client(parse_mqtt_url(own_broker.url), settings)
    try:
        wait_until(lambda: "all roles ready" in log.read_text(), 30, "the ingest role")
        assert pub.connect().value == 0
        for seq in range(50):
            for dev in devices:
                pub.publish(f"assetwatch/{dev}/telemetry", reading(dev, seq), qos=1)
        wait_until(lambda: count(db_url, "SELECT count(*) FROM readings") == 150, 60, "readings")
    finally:
        pub.close()
        rc = terminate(proc)
    text = log.read_text()
    assert rc == 0, text[-3000:]
    assert "role ingest stopped" in text
    assert "Traceback" not in text
