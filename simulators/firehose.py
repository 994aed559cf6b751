"""Firehose publishing for benchmarks: simulated messages to the broker as fast as possible.

The simulator generates ~20,000 messages/s per core, so the firehose first
takes a pool of real simulated messages (a slice of a 10,000-device fleet)
and then publishes that pool, round after round, for as long as asked.

Two publishers:

- :func:`paho_firehose` -- paho-mqtt 2 with the in-flight window bounded by the
  caller (paho rescans its whole in-flight table on every PUBACK, so an
  unbounded QoS 1 backlog goes quadratic);
- :class:`RawFirehose` -- pre-encoded MQTT 3.1.1 PUBLISH packets written in
  large chunks to one socket (a PUBACK reader thread keeps the QoS 1 window).
  MQTT's framing is simple and fixed; hand-encoding it is what removes the
  per-message Python cost that caps any general client.
"""

from __future__ import annotations

import select
import socket
import struct
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from assetwatch.mqtt import MqttTarget
from simulators.errors import PublishError


@dataclass(frozen=True, slots=True)
class FirehoseResult:
    """How many messages went out (and were acknowledged, for QoS 1) in how long."""

    messages: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else 0.0


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def publish_packet(topic: str, payload: bytes, *, qos: int, packet_id: int = 0) -> bytes:
    """One MQTT 3.1.1 PUBLISH packet (DUP and RETAIN clear)."""
    t = topic.encode()
    var = struct.pack(">H", len(t)) + t + (struct.pack(">H", packet_id) if qos else b"")
    return bytes((0x30 | qos << 1,)) + _varint(len(var) + len(payload)) + var + payload


class RawFirehose:
    """One MQTT connection writing pre-encoded PUBLISH packets in bulk."""

    def __init__(self, target: MqttTarget, *, chunk: int = 512, window: int = 20_000) -> None:
        if target.tls:  # benchmarks run against the local broker
            raise PublishError("the raw firehose speaks plain mqtt:// only (benchmarks are local)")
        self.target = target
        self.chunk = chunk
        self.window = min(window, 60_000)
        self.acked = 0
        self._stop = threading.Event()

    def _connect(self) -> socket.socket:
        t = self.target
        flags = 0x02
        payload = b""
        cid = f"aw-firehose-{uuid.uuid4().hex[:10]}".encode()
        payload += struct.pack(">H", len(cid)) + cid
        if t.username is not None:
            flags |= 0x80
            u = t.username.encode()
            payload += struct.pack(">H", len(u)) + u
            if t.password is not None:
                flags |= 0x40
                p = t.password.encode()
                payload += struct.pack(">H", len(p)) + p
        var = b"\x00\x04MQTT\x04" + bytes((flags,)) + struct.pack(">H", 60)
        try:
            sock = socket.create_connection((t.host, t.port), timeout=10)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.sendall(b"\x10" + _varint(len(var) + len(payload)) + var + payload)
            ack = sock.recv(4)
        except OSError as exc:
            raise PublishError(f"cannot connect to MQTT broker {t.url()}: {exc}") from exc
        if len(ack) != 4 or ack[0] != 0x20 or ack[3] != 0:
            raise PublishError(f"MQTT broker {t.url()} refused the connection: {ack!r}")
        return sock

    def _reader(self, sock: socket.socket) -> None:
        buf = b""
        while not self._stop.is_set():
            try:
                ready, _w, _x = select.select([sock], [], [], 0.2)
                if not ready:
                    continue
                data = sock.recv(65536)
            except (OSError, ValueError):
                return
            if not data:
                return
            buf += data
            n = len(buf) // 4  # PUBACK is exactly 4 bytes: 0x40 0x02 id id
            self.acked += n
            buf = buf[n * 4 :]

    def run(self, pool: Sequence[tuple[str, bytes]], *, qos: int, total: int) -> FirehoseResult:
        """Publish ``total`` messages cycling through ``pool``; QoS 1 waits for every PUBACK."""
        sock = self._connect()
        sock.settimeout(None)  # writes may block while the broker catches up; that is the point
        reader = threading.Thread(target=self._reader, args=(sock,), daemon=True)
        reader.start()
        # Encode every packet once; QoS 1 packet ids follow the pool position, so ids are
        # unique within any window shorter than 65,535 messages.
        packets = [
            publish_packet(t, p, qos=qos, packet_id=k % 65535 + 1) for k, (t, p) in enumerate(pool)
        ]
        n_pool = len(packets)
        window = min(self.window, n_pool - 1) if qos else 0
        sent = 0
        t0 = time.perf_counter()
        try:
            while sent < total:
                n = min(self.chunk, total - sent)
                i = sent % n_pool
                j = min(i + n, n_pool)
                sock.sendall(b"".join(packets[i:j]))
                sent += j - i
                while qos and sent - self.acked > window:
                    time.sleep(0.0005)
            deadline = time.monotonic() + 60
            while qos and self.acked < sent and time.monotonic() < deadline:
                time.sleep(0.001)
            elapsed = time.perf_counter() - t0
            if qos and self.acked < sent:
                raise PublishError(f"only {self.acked} of {sent} QoS 1 messages acknowledged")
            sock.sendall(b"\xe0\x00")
        except OSError as exc:
            raise PublishError(f"firehose connection failed: {exc}") from exc
        finally:
            self._stop.set()
            sock.close()
            reader.join(2)
        return FirehoseResult(sent, elapsed)


def paho_firehose(
    target: MqttTarget,
    pool: Sequence[tuple[str, bytes]],
    *,
    qos: int,
    total: int,
    window: int = 100,
) -> FirehoseResult:
    """paho-mqtt 2 (network loop in its thread), at most ``window`` QoS 1 messages in flight."""
    client = paho.Client(
        CallbackAPIVersion.VERSION2, client_id=f"aw-paho-fh-{uuid.uuid4().hex[:10]}"
    )
    client.max_inflight_messages_set(window)
    client.max_queued_messages_set(0)
    if target.username is not None:
        client.username_pw_set(target.username, target.password)
    try:
        client.connect(target.host, target.port)
    except OSError as exc:
        raise PublishError(f"cannot connect to MQTT broker {target.url()}: {exc}") from exc
    client.loop_start()
    time.sleep(0.2)
    pending = client._out_messages  # paho keeps unacknowledged QoS>0 messages here
    t0 = time.perf_counter()
    n = len(pool)
    for k in range(total):
        topic, payload = pool[k % n]
        client.publish(topic, payload, qos=qos)
        while qos and len(pending) > window:
            time.sleep(0.0002)
    while client.want_write() or len(pending):
        time.sleep(0.0005)
    elapsed = time.perf_counter() - t0
    client.disconnect()
    client.loop_stop()
    return FirehoseResult(total, elapsed)


def take_pool(messages: Iterable[tuple[str, bytes]], n: int) -> list[tuple[str, bytes]]:
    out = []
    for item in messages:
        out.append(item)
        if len(out) >= n:
            break
    return out
