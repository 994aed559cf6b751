"""A real Mosquitto started by a test with a configuration of its own, and a tiny paho client.

The shared broker on 127.0.0.1:1883 is never touched: each server here gets a
free port and its own directory, and can be stopped and started again (same
port, same persistence) to fault-test clients.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import queue
import shutil
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from assetwatch.embedded import port_open
from assetwatch.mqtt import MqttTarget, configure_paho
from assetwatch.settings import Settings


def current_user() -> str:
    """The user this test runs as: Mosquitto must stay it to read the 0600 auth files."""
    return pwd.getpwuid(os.getuid()).pw_name


def mosquitto_binary() -> str:
    """Path of the mosquitto binary, or skip the test with the reason."""
    found = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    if found is None:
        pytest.skip("mosquitto is not installed (apt-get install mosquitto)")
    return found


@dataclass
class MosquittoServer:
    """One Mosquitto process run from ``conf`` listening on ``port``; restartable."""

    conf: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.conf.with_suffix(".log")

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [mosquitto_binary(), "-c", str(self.conf)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 15
        while not port_open("127.0.0.1", self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mosquitto did not start: {self.log.read_text()[-2000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class Client:
    """A blocking-friendly paho client for tests: connect result, received messages, subacks."""

    def __init__(
        self,
        target: MqttTarget,
        settings: Settings,
        *,
        client_id: str | None = None,
        clean: bool = True,
    ) -> None:
        self.messages: queue.Queue[paho.MQTTMessage] = queue.Queue()
        self.connack: queue.Queue[ReasonCode] = queue.Queue()
        self.subacks: queue.Queue[list[ReasonCode]] = queue.Queue()
        self.target = target
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"test-{uuid.uuid4().hex[:10]}",
            clean_session=clean,
        )
        configure_paho(self.client, target, settings)
        self.client.on_connect = self._on_connect
        self.client.on_message = lambda _c, _u, msg: self.messages.put(msg)
        self.client.on_subscribe = lambda _c, _u, _mid, codes, _p: self.subacks.put(list(codes))
        self._lock = threading.Lock()

    def _on_connect(self, _c: object, _u: object, _f: object, rc: ReasonCode, _p: object) -> None:
        self.connack.put(rc)

    def connect(self, timeout: float = 10) -> ReasonCode:
        """Connect and return the broker's CONNACK reason code."""
        self.client.connect(self.target.host, self.target.port, keepalive=30)
        self.client.loop_start()
        try:
            return self.connack.get(timeout=timeout)
        except queue.Empty as exc:
            raise TimeoutError("no CONNACK from the broker") from exc

    def subscribe(self, topic: str, qos: int = 1, timeout: float = 10) -> list[ReasonCode]:
        self.client.subscribe(topic, qos)
        return self.subacks.get(timeout=timeout)

    def publish(self, topic: str, payload: bytes | str, qos: int = 1) -> None:
        info = self.client.publish(topic, payload, qos=qos)
        info.wait_for_publish(timeout=10)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.disconnect()
        self.client.loop_stop()
        # paho keeps its wake-up socket pair (and, after a failed TLS connect, the
        # socket) until garbage collection; close them so no ResourceWarning leaks.
        for name in ("_sockpairR", "_sockpairW", "_sock"):
            sock = getattr(self.client, name, None)
            if sock is not None:
                with contextlib.suppress(Exception):
                    sock.close()
