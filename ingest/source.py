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

import contextlib
import logging
import struct
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, Final

import paho.mqtt.client as paho
from paho.mqtt.client import time_func
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
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

_PUBACK: Final = struct.Struct("!BBH")
_READ_CHUNK: Final = 65536
_READ_BURST: Final = 1000


class _BufferedClient(paho.Client):
    """paho's client with two costs of its network thread removed (profiled under a backlog).

    * paho reads one packet per ``select()`` and each packet with three
      ``recv`` calls (1 byte command, 1 byte length, the rest). Here the socket
      is read in 64 KiB chunks served from a buffer, and :meth:`loop_read`
      keeps reading packets until the socket and the buffer are both empty,
      so ``select()`` never waits while bytes sit in the buffer.
    * QoS 0/1 PUBLISH packets that sit whole in the buffer are parsed here
      (:meth:`_read_publishes`) and handed to ``on_publish_raw`` as
      ``(topic, payload, mid, qos)``: no ``MQTTMessage``, no MQTT 5
      ``Properties`` object (the ingest uses none of a PUBLISH's properties,
      and it never allows topic aliases), no per-packet state dictionary. Any
      other packet, a PUBLISH cut by the end of the buffer, one that does not
      parse, or QoS 2 goes through paho's own reader.
    * ``on_message`` is called directly (no per-filter topic matching, no locks).
    * :meth:`ack_many` queues the PUBACKs of a committed batch as one write
      and wakes the network thread once, instead of one socket-pair write and
      lock round per message as ``Client.ack`` does.

    These override private methods of paho-mqtt 2.x (``_sock_recv``,
    ``_sock_close``, ``loop_read``'s packet loop, the ``_out_packet`` deque);
    ``tests/integration/test_ingest_source.py`` checks them against a real broker.
    """

    _rbuf: bytes = b""
    _rpos: int = 0
    #: Called from the network thread for each PUBLISH the fast reader parses.
    on_publish_raw: Callable[[bytes, bytes, int, int], None] | None = None

    def _sock_recv(self, bufsize: int) -> bytes:
        buf, pos = self._rbuf, self._rpos
        if pos >= len(buf):
            buf = super()._sock_recv(max(bufsize, _READ_CHUNK))
            if not buf:
                return buf  # end of stream: paho reports the lost connection
            pos = 0
        end = pos + bufsize
        if end >= len(buf):
            self._rbuf, self._rpos = b"", 0
            return buf[pos:] if pos else buf
        self._rbuf, self._rpos = buf, end
        return buf[pos:end]

    def _handle_on_message(self, message: paho.MQTTMessage) -> None:
        # paho matches every topic against its per-filter callbacks (none here:
        # ``message_callback_add`` is never used), decodes the topic and takes two
        # locks per message; the ingest's ``on_message`` only appends to a deque.
        on_message = self.on_message
        if on_message is not None:
            on_message(self, self._userdata, message)

    def _sock_close(self) -> None:
        self._rbuf, self._rpos = b"", 0  # never carry bytes over to the next connection
        super()._sock_close()

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        n = 0
        while True:
            if self._sock is None:
                return MQTTErrorCode.MQTT_ERR_NO_CONN
            if self._in_packet["command"] == 0 and self.on_publish_raw is not None:
                n += self._read_publishes(self.on_publish_raw)
            rc = self._packet_read()
            if rc > 0:
                return self._loop_rc_handle(rc)
            if rc == MQTTErrorCode.MQTT_ERR_AGAIN:
                return MQTTErrorCode.MQTT_ERR_SUCCESS
            n += 1
            # After a burst, let the loop write (acks, pings) once the buffer is
            # empty: what is left is in the socket, where select() sees it.
            if n >= _READ_BURST and self._rpos == 0:
                return MQTTErrorCode.MQTT_ERR_SUCCESS

    def _read_publishes(self, deliver: Callable[[bytes, bytes, int, int], None]) -> int:
        """Parse the whole QoS 0/1 PUBLISH packets at the head of the buffer; how many.

        Written by hand because it replaces paho's reader for the one packet
        type that matters here (MQTT 3.1.1 section 3.3, MQTT 5 section 3.3):
        stops at the first packet it does not fully understand, leaving it to paho.
        """
        buf, pos = self._rbuf, self._rpos
        end = len(buf)
        v5 = self._protocol == paho.MQTTv5
        count = 0
        while pos + 2 <= end:
            cmd = buf[pos]
            qos = (cmd >> 1) & 3
            if cmd & 0xF0 != 0x30 or qos == 2:
                break
            i, rem, shift = pos + 1, 0, 0
            while i < end and shift <= 21:
                b = buf[i]
                rem |= (b & 0x7F) << shift
                shift += 7
                i += 1
                if not b & 0x80:
                    break
            else:
                break  # length cut by the buffer's end (or malformed): paho's turn
            stop = i + rem
            if stop > end or rem < 2:
                break
            p = i + 2 + ((buf[i] << 8) | buf[i + 1])
            topic = buf[i + 2 : p]
            mid = 0
            if qos:
                mid = (buf[p] << 8) | buf[p + 1] if p + 2 <= stop else 0
                p += 2
            if v5:  # skip the properties: a variable byte integer, then that many bytes
                plen, shift = 0, 0
                while p < stop and shift <= 21:
                    b = buf[p]
                    plen |= (b & 0x7F) << shift
                    shift += 7
                    p += 1
                    if not b & 0x80:
                        break
                else:
                    break
                p += plen
            if p > stop or not topic or (qos and not mid):
                break  # malformed (or a topic alias): paho reports it
            deliver(topic, buf[p:stop], mid, qos)
            pos = stop
            count += 1
        if count:
            if pos >= end:
                self._rbuf, self._rpos = b"", 0
            else:
                self._rpos = pos
            with self._msgtime_mutex:
                self._last_bytes_received = time_func()
        return count

    def ack_many(self, mids: Iterable[int]) -> None:
        """Queue the PUBACKs of QoS 1 messages ``mids`` as one packet write."""
        pack = _PUBACK.pack
        data = b"".join([pack(paho.PUBACK, 2, mid) for mid in mids])
        if not data:
            return
        # deque.append is atomic: paho's own publish() from other threads relies on it.
        self._out_packet.append(
            {
                "command": paho.PUBACK,
                "mid": 0,
                "qos": 1,
                "pos": 0,
                "to_process": len(data),
                "packet": data,
                "info": None,
            }
        )
        if self._sockpairW is not None:
            with contextlib.suppress(BlockingIOError):
                self._sockpairW.send(b"0")
        self._call_socket_register_write()


def subscriptions(settings: Settings) -> list[str]:
    """The topic filters this process subscribes to."""
    group = settings.ingest_shared_group
    return [f"$share/{group}/{t}" if group else t for t in TOPICS]


class MqttSource:
    """Receives QoS 1 messages into ``self.queue``; :meth:`ack` acknowledges one."""

    def __init__(self, settings: Settings, *, client_id: str | None = None) -> None:
        self._target = target_from_settings(settings)
        self._settings = settings
        self._receive_max = settings.ingest_max_inflight_messages  # Settings caps it at 65535
        # Filled by the network thread without a lock per message (deque.append is
        # atomic); bounded by Receive Maximum: the broker never has more than that
        # many unacknowledged messages out, and these are not acknowledged yet.
        self.queue: deque[Raw] = deque()
        #: Set when the queue may have become non-empty (the consumer clears it first).
        self.arrived = threading.Event()
        self.generation = 0
        self.connected = False
        self.subscribed = False
        cid = client_id or settings.ingest_client_id or f"assetwatch-ingest-{uuid.uuid4().hex[:8]}"
        self._client = _BufferedClient(
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
        self._client.on_publish_raw = self._on_publish_raw
        self._client.on_subscribe = self._on_subscribe
        self._put = self.queue.append
        self._arrived_set = self.arrived.set
        self._arrived_is_set = self.arrived.is_set

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

    def ack_batch(self, messages: Iterable[tuple[int, int, int]]) -> None:
        """:meth:`ack` for many ``(mid, qos, generation)`` at once: one write for all."""
        gen = self.generation
        ones: list[int] = []
        for mid, qos, g in messages:
            if g != gen or not qos:
                continue
            if qos == 1:
                ones.append(mid)
            else:
                self._client.ack(mid, qos)
        self._client.ack_many(ones)

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
        if not self._arrived_is_set():
            self._arrived_set()

    def _on_publish_raw(self, topic: bytes, payload: bytes, mid: int, qos: int) -> None:
        self._put((topic, payload, mid, qos, time.time(), self.generation))
        if not self._arrived_is_set():
            self._arrived_set()
