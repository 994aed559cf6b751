"""Publishing simulated messages to an MQTT broker with paho-mqtt 2.

:class:`Publisher` owns one paho client whose network loop runs in its own
thread (paho's ``loop_start``); the caller only hands it messages. paho's
errors and refused connections become :class:`~simulators.errors.PublishError`
here, at the boundary. :func:`pace` turns simulated send times into wall-clock
waits for ``--speedup`` (or none at all for ``--backfill``).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from assetwatch.errors import MqttUrlError
from assetwatch.mqtt import configure_paho, parse_mqtt_url
from assetwatch.settings import Settings
from simulators.engine import SimMessage
from simulators.errors import PublishError


class Publisher:
    """A connected paho client; use as a context manager, then :meth:`publish`."""

    def __init__(
        self,
        url: str,
        settings: Settings,
        *,
        qos: int = 1,
        client_id: str | None = None,
        max_inflight: int = 0,
        max_backlog: int = 2_000,
    ) -> None:
        if qos not in (0, 1):
            raise PublishError(f"qos must be 0 or 1, got {qos}")
        try:
            self.target = parse_mqtt_url(url)
        except MqttUrlError as exc:
            raise PublishError(str(exc)) from exc
        self.settings = settings
        self.qos = qos
        # paho numbers QoS 1 messages with 16-bit ids and fails a publish whose id
        # is still unacknowledged ("message queue full"): block instead, so a
        # publisher paced faster than the broker acknowledges slows down.
        # This backlog, not paho's in-flight limit, is the flow control: with a
        # limit set (max_inflight > 0) paho walks every unacknowledged message on
        # each PUBACK (Client._update_inflight), which took over a third of the
        # simulator's CPU with 1,000 terminals and a 20,000-message backlog;
        # with 0 (no limit) it sends at once and skips that walk.
        self.max_backlog = min(max_backlog, 60_000)
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"assetwatch-sim-{uuid.uuid4().hex[:12]}",
            clean_session=True,
        )
        self.client.max_inflight_messages_set(max_inflight)
        self.client.max_queued_messages_set(0)
        self._connected = threading.Event()
        self._reason: str | None = None
        self.client.on_connect = self._on_connect
        self.sent = 0

    def _on_connect(self, _c: paho.Client, _u: object, _f: object, rc: object, _p: object) -> None:
        # a paho callback only records what happened; the caller thread acts on it
        if getattr(rc, "is_failure", False):
            self._reason = str(rc)
        self._connected.set()

    def __enter__(self) -> Publisher:
        try:
            configure_paho(self.client, self.target, self.settings)
            self.client.connect(self.target.host, self.target.port, keepalive=30)
        except (OSError, MqttUrlError, ValueError) as exc:
            raise PublishError(f"cannot connect to MQTT broker {self.target.url()}: {exc}") from exc
        self.client.loop_start()
        if not self._connected.wait(10) or self._reason is not None:
            self.client.loop_stop()
            raise PublishError(
                f"MQTT broker {self.target.url()} refused the connection: "
                f"{self._reason or 'timeout'}"
            )
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.flush()
        self.client.disconnect()
        self.client.loop_stop()

    def publish(self, topic: str, payload: bytes) -> None:
        if self.qos and self._pending() >= self.max_backlog:
            self._wait_for_backlog(self.max_backlog // 2)
        info = self.client.publish(topic, payload, qos=self.qos)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            raise PublishError(f"publish to {topic} failed: {paho.error_string(info.rc)}")
        self.sent += 1

    def flush(self, timeout: float = 60.0) -> None:
        """Wait until every QoS 1 message has been acknowledged (or the timeout)."""
        deadline = time.monotonic() + timeout
        while self.client.want_write() or self._pending():
            if time.monotonic() > deadline:
                raise PublishError(
                    f"{self._pending()} messages still unacknowledged after {timeout} s"
                )
            time.sleep(0.01)

    def _wait_for_backlog(self, low: int, timeout: float = 300.0) -> None:
        deadline = time.monotonic() + timeout
        while self._pending() > low:
            if time.monotonic() > deadline:
                raise PublishError(
                    f"{self._pending()} messages unacknowledged by the broker for {timeout} s"
                )
            time.sleep(0.005)

    def _pending(self) -> int:
        return len(getattr(self.client, "_out_messages", ()))


def pace(
    messages: Iterable[SimMessage],
    *,
    start: float,
    speedup: float | None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[SimMessage]:
    """Release each message when its simulated send time comes round at ``speedup``×.

    ``speedup=None`` releases everything at once (backfill).
    """
    if speedup is None:
        yield from messages
        return
    wall0 = clock()
    for msg in messages:
        due = wall0 + (msg.send_time - start) / speedup
        ahead = due - clock()
        if ahead > 0.005:
            sleep(ahead)
        yield msg
