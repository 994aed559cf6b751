"""The ingest's paho client overrides (buffered reads, batched PUBACKs) against a real broker.

``ingest.source._BufferedClient`` replaces private paho-mqtt 2 methods for speed;
these tests fail if a paho release changes what they rely on: every message
arrives intact across 64 KiB read boundaries, and a batch of PUBACKs written
as one packet really acknowledges every message (nothing is sent again).
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from assetwatch.embedded import EmbeddedServer, start_broker
from assetwatch.settings import Settings
from ingest.source import MqttSource, Raw

pytestmark = pytest.mark.integration


@pytest.fixture
def broker() -> Iterator[EmbeddedServer]:
    directory = Path(tempfile.mkdtemp(prefix="aw-src-mqtt-"))
    directory.chmod(0o777)  # mosquitto drops root privileges to its own user
    server = start_broker(directory)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


def _publish(url: str, items: list[tuple[str, bytes]]) -> None:
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"src-pub-{uuid.uuid4().hex[:6]}")
    host, port = url.rsplit("//", 1)[-1].rsplit(":", 1)
    client.connect(host, int(port))
    client.loop_start()
    infos = [client.publish(t, p, qos=1) for t, p in items]
    for info in infos:
        info.wait_for_publish(30)
    client.loop_stop()
    client.disconnect()


def _take(source: MqttSource, n: int, timeout: float = 30.0) -> list[Raw]:
    got: list[Raw] = []
    deadline = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        while source.queue:
            got.append(source.queue.popleft())
        time.sleep(0.01)
    return got


def test_buffered_reads_and_batched_acks(broker: EmbeddedServer, settings: Settings) -> None:
    s = settings.model_copy(
        update={"mqtt_url": broker.url, "ingest_shared_group": None, "ingest_client_id": None}
    )
    cid = f"src-{uuid.uuid4().hex[:6]}"
    # Sizes around and beyond the 64 KiB read chunk, between many small ones.
    sizes = [10 + (i * 37) % 900 for i in range(600)]
    sizes[100], sizes[300], sizes[450] = 65_530, 200_000, 65_536
    items = [(f"assetwatch/d{i % 7}/telemetry", bytes([i % 251]) * n) for i, n in enumerate(sizes)]

    first = MqttSource(s, client_id=cid)
    first.start()
    assert first.wait_subscribed(20)
    _publish(broker.url, items)
    got = _take(first, len(items))
    assert [(t.decode(), p) for t, p, *_ in got] == items
    first.ack_batch([(mid, qos, gen) for _, _, mid, qos, _, gen in got])
    time.sleep(1.0)  # let the network thread write the acks
    first.stop()

    again = MqttSource(s, client_id=cid)  # same persistent session
    again.start()
    assert again.wait_subscribed(20)
    _publish(broker.url, items[:1])
    redelivered = _take(again, 2, timeout=3.0)
    again.stop()
    assert [(t.decode(), p) for t, p, *_ in redelivered] == items[:1]


def test_unacknowledged_messages_come_back(broker: EmbeddedServer, settings: Settings) -> None:
    s = settings.model_copy(
        update={"mqtt_url": broker.url, "ingest_shared_group": None, "ingest_client_id": None}
    )
    cid = f"src-{uuid.uuid4().hex[:6]}"
    items = [(f"assetwatch/d{i}/telemetry", b'{"n": %d}' % i) for i in range(50)]
    first = MqttSource(s, client_id=cid)
    first.start()
    assert first.wait_subscribed(20)
    _publish(broker.url, items)
    got = _take(first, len(items))
    first.ack_batch([(mid, qos, gen) for _, _, mid, qos, _, gen in got[:20]])
    time.sleep(1.0)
    first.stop()

    again = MqttSource(s, client_id=cid)
    again.start()
    assert again.wait_subscribed(20)
    back = _take(again, 30)
    again.stop()
    assert sorted(p for _, p, *_ in back) == sorted(p for _, p in items[20:])
