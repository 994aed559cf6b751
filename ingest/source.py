"""The broker side: a paho-mqtt 2 client that only enqueues, and acknowledges on request.

Why paho and not aiomqtt: aiomqtt 2 acknowledges a QoS 1 message as soon as it
is received, so a crash between receipt and commit would lose it. paho-mqtt 2
offers ``manual_ack=True`` and ``Client.ack(mid, qos)``: the ingest sends the
PUBACK only after the batch holding the message has committed. Unacknowledged
messages stay with the broker and are sent again after a reconnect.

The session is persistent (MQTT 5, ``clean_start=False`` and a session expiry),
so messages published while the ingest is down are queued by the broker. The
client's Receive Maximum (``ingest_max_inflight_messages``) caps how many
unacknowledged messages the broker sends: when the database is slow, acks stop,
the broker stops sending and queues instead, and memory here stays bounded.

paho's network loop runs in its own thread (``loop_start``); callbacks only
put messages on a bounded queue and count connection generations.
"""

from __future__ import annotations

import logging
import queue
import time
import uuid
from typing import Any, Final

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from assetwatch.mqtt import configure_paho, target_from_settings
from assetwatch.settings import Settings
from ingest.errors import BrokerUnavailable

log = logging.getLogger(__name__)

#: Subscriptions (QoS 1); with a shared group each gets ``$share/{group}/`` in front.
TOPICS: Final = (
    "assetwatch/+/telemetry",
    "assetwatch/+/jt808",
    "assetwatch/+/ais",
    "assetwatch/+/aemp",
    "application/+/device/+/event/up",
)

#: What the queue holds: (topic bytes, payload, mid, qos, receive time, generation).
Raw = tuple[bytes, bytes, int, int, float, int]


def subscriptions(settings: Settings) -> list[str]:
    """The topic filters this process subscribes to."""
    group = settings.ingest_shared_group
    return [f"$share/{group}/{t}" if group else t for t in TOPICS]


class MqttSource:
    """Receives QoS 1 messages into ``self.queue``; :meth:`ack` acknowledges one."""

    def __init__(self, settings: Settings, *, client_id: str | None = None) -> None:
        self._target = target_from_settings(settings)
        self._settings = settings
        self._receive_max = min(65535, settings.ingest_max_inflight_messages)
        # Bounded above the broker's limit so put() never has to wait in normal
        # operation; if it ever does, the network thread pauses (TCP backpressure).
        self.queue: queue.Queue[Raw] = queue.Queue(maxsize=self._receive_max + 1024)
        self.generation = 0
        self.connected = False
        self.subscribed = False
        cid = client_id or settings.ingest_client_id or f"assetwatch-ingest-{uuid.uuid4().hex[:8]}"
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=cid,
            protocol=paho.MQTTv5,
            manual_ack=True,
        )
        configure_paho(self._client, self._target, settings)
        self._client.reconnect_delay_set(min_delay=1, max_delay=10)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._put = self.queue.put

    # -- lifecycle -------------------------------------------------------------
    def start(self) -> None:
        """Connect asynchronously and start the network thread (it reconnects by itself)."""
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = self._settings.ingest_session_expiry_s
        props.ReceiveMaximum = self._receive_max
        try:
            self._client.connect_async(
                self._target.host,
                self._target.port,
                keepalive=30,
                clean_start=False,
                properties=props,
            )
        except (OSError, ValueError) as exc:
            raise BrokerUnavailable(f"cannot connect to {self._target.url()}: {exc}") from exc
        self._client.loop_start()

    def stop(self) -> None:
        """Disconnect (the session and its unacknowledged messages stay with the broker)."""
        self._client.disconnect()
        self._client.loop_stop()

    def wait_subscribed(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.subscribed and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.subscribed

    # -- acknowledgement ---------------------------------------------------------
    def ack(self, mid: int, qos: int, generation: int) -> None:
        """Send the PUBACK for one committed message received on the current connection.

        A message received on an earlier connection is not acknowledged: the broker
        resends it after the reconnect (under the same packet id) and the resent
        copy, deduplicated by the store, is acknowledged instead.
        """
        if qos and generation == self.generation:
            self._client.ack(mid, qos)

    # -- paho callbacks (network thread: enqueue and count only) -------------------
    def _on_connect(
        self, client: paho.Client, userdata: Any, flags: Any, rc: ReasonCode, props: Any
    ) -> None:
        if rc.is_failure:
            log.warning("broker refused the connection: %s", rc)
            return
        self.connected = True
        log.info("connected to %s (session present: %s)", self._target.url(), flags.session_present)
        client.subscribe([(t, 1) for t in subscriptions(self._settings)])

    def _on_subscribe(
        self, client: paho.Client, userdata: Any, mid: int, rcs: Any, props: Any
    ) -> None:
        self.subscribed = True
        log.info("subscribed to %d topic filters", len(rcs))

    def _on_disconnect(
        self, client: paho.Client, userdata: Any, flags: Any, rc: ReasonCode, props: Any
    ) -> None:
        self.connected = False
        self.generation += 1
        log.warning("disconnected from the broker (%s); paho reconnects", rc)

    def _on_message(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        self._put((msg._topic, bytes(msg.payload), msg.mid, msg.qos, time.time(), self.generation))
