"""Publishing simulated fleets to a real MQTT broker (unique topics per test)."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter

import paho.mqtt.client as paho
import pytest
from click.testing import CliRunner
from paho.mqtt.enums import CallbackAPIVersion

from assetwatch.mqtt import parse_mqtt_url
from assetwatch.settings import Settings
from simulators import PublishError, SimConfig, Simulation
from simulators.cli import simulate
from simulators.firehose import RawFirehose
from simulators.publish import Publisher

pytestmark = pytest.mark.integration


class Sink:
    """A real subscriber on PREFIX/# that counts what arrives."""

    def __init__(self, url: str, prefix: str) -> None:
        target = parse_mqtt_url(url)
        self.got: Counter[tuple[str, bytes]] = Counter()
        self.lock = threading.Lock()
        ready = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"sink-{uuid.uuid4().hex}")
        self.client.on_connect = lambda c, *_: c.subscribe(f"{prefix}/#", qos=1)
        self.client.on_subscribe = lambda *_: ready.set()
        self.client.on_message = self._on_message
        self.client.connect(target.host, target.port)
        self.client.loop_start()
        assert ready.wait(10)

    def _on_message(self, _c: paho.Client, _u: object, msg: paho.MQTTMessage) -> None:
        with self.lock:
            self.got[(msg.topic, bytes(msg.payload))] += 1

    def wait_for(self, n: int, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                total = sum(self.got.values())
            if total >= n:
                return total
            time.sleep(0.05)
        return total

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.mark.parametrize("qos", [0, 1])
def test_every_message_reaches_the_broker(mqtt_url: str, qos: int) -> None:
    prefix = f"simtest/{uuid.uuid4().hex}"
    sim = Simulation(SimConfig(fleet="vehicle=3,ship=2,farm=1,equipment=2", days=0.5, seed=2,
                               native=True, scenario="quiet"))  # fmt: skip
    sink = Sink(mqtt_url, prefix)
    sent: Counter[tuple[str, bytes]] = Counter()
    try:
        with Publisher(mqtt_url, Settings(mqtt_url=mqtt_url), qos=qos) as pub:
            for i, m in enumerate(sim.messages(), 1):
                pub.publish(f"{prefix}/{m.topic}", m.payload)
                sent[(f"{prefix}/{m.topic}", m.payload)] += 1
                if i % 500 == 0:
                    # Mosquitto queues at most 1,000 messages for a slow subscriber
                    # (max_queued_messages) and drops the rest: on a busy machine the
                    # sink must catch up before the next burst.
                    sink.wait_for(i)
        assert sink.wait_for(sum(sent.values())) == sum(sent.values())
        if qos == 1:
            assert sink.got == sent
    finally:
        sink.close()


def test_cli_publishes_with_topic_prefix(mqtt_url: str) -> None:
    prefix = f"simtest/{uuid.uuid4().hex}"
    sink = Sink(mqtt_url, prefix)
    try:
        res = CliRunner().invoke(simulate, [
            "--fleet", "vehicle=2,farm=1", "--days", "0.1", "--backfill", "--seed", "1",
            "--scenario", "quiet", "--mqtt-url", mqtt_url, "--topic-prefix", prefix,
            "--no-progress", "--json",
        ], obj=Settings(mqtt_url=mqtt_url))  # fmt: skip
        assert res.exit_code == 0, res.output
        import json

        n = json.loads(res.output.strip().splitlines()[-1])["messages"]
        assert n > 10
        assert sink.wait_for(n) == n
        assert all(topic.startswith(prefix + "/") for topic, _ in sink.got)
    finally:
        sink.close()


def test_unreachable_broker_is_a_clear_error() -> None:
    with (
        pytest.raises(PublishError, match="cannot connect"),
        Publisher("mqtt://127.0.0.1:1", Settings()),
    ):
        pass


@pytest.mark.parametrize("qos", [0, 1])
def test_firehose_packets_arrive_intact(mqtt_url: str, qos: int) -> None:
    prefix = f"simtest/{uuid.uuid4().hex}"
    sim = Simulation(SimConfig(fleet="vehicle=3,farm=1", days=0.5, seed=3, scenario="quiet"))
    pool = [(f"{prefix}/{m.topic}", m.payload) for m in sim.messages()][:300]
    assert len(pool) > 100
    sink = Sink(mqtt_url, prefix)
    try:
        result = RawFirehose(parse_mqtt_url(mqtt_url), chunk=64).run(pool, qos=qos, total=900)
        assert result.messages == 900
        assert sink.wait_for(900) == 900
        assert sink.got == Counter(pool[k % len(pool)] for k in range(900))
    finally:
        sink.close()
