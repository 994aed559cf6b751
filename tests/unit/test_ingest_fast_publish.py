"""The ingest's own PUBLISH reader against packets built byte by byte from the MQTT specs."""

from __future__ import annotations

import struct

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from ingest.source import _BufferedClient


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def publish(
    topic: bytes, payload: bytes, *, qos: int, mid: int = 0, props: bytes | None = None
) -> bytes:
    body = struct.pack("!H", len(topic)) + topic
    if qos:
        body += struct.pack("!H", mid)
    if props is not None:
        body += _varint(len(props)) + props
    body += payload
    return bytes([0x30 | (qos << 1)]) + _varint(len(body)) + body


def reader(
    protocol: MQTTProtocolVersion,
) -> tuple[_BufferedClient, list[tuple[bytes, bytes, int, int]]]:
    client = _BufferedClient(CallbackAPIVersion.VERSION2, client_id="t", protocol=protocol)
    got: list[tuple[bytes, bytes, int, int]] = []
    client.on_publish_raw = lambda *a: got.append(a)
    return client, got


def test_mqtt311_packets_parse_and_the_cut_one_stays() -> None:
    client, got = reader(paho.MQTTv311)
    big = b"x" * 300  # a two-byte remaining length
    whole = publish(b"a/b", b"{}", qos=1, mid=7) + publish(b"c", big, qos=0)
    tail = publish(b"d", b"123", qos=1, mid=9)
    client._rbuf, client._rpos = whole + tail[:4], 0
    assert client._read_publishes(client.on_publish_raw) == 2  # type: ignore[arg-type]
    assert got == [(b"a/b", b"{}", 7, 1), (b"c", big, 0, 0)]
    assert client._rbuf[client._rpos :] == tail[:4]  # left for paho's reader


def test_mqtt5_properties_are_skipped() -> None:
    client, got = reader(paho.MQTTv5)
    props = b"\x01\x01" + b"\x26" + struct.pack("!H", 1) + b"k" + struct.pack("!H", 1) + b"v"
    data = publish(b"t/1", b"p1", qos=1, mid=1, props=b"") + publish(
        b"t/2", b"p2", qos=1, mid=2, props=props
    )
    client._rbuf, client._rpos = data, 0
    assert client._read_publishes(client.on_publish_raw) == 2  # type: ignore[arg-type]
    assert got == [(b"t/1", b"p1", 1, 1), (b"t/2", b"p2", 2, 1)]
    assert (client._rbuf, client._rpos) == (b"", 0)


@pytest.mark.parametrize(
    "packet",
    [
        b"\x20\x02\x00\x00",  # CONNACK: not a PUBLISH
        publish(b"q2", b"x", qos=2, mid=3),  # QoS 2 is paho's
        publish(b"", b"x", qos=1, mid=3),  # empty topic (MQTT 3.1.1: malformed)
        publish(b"t", b"x", qos=1, mid=0),  # packet id 0 is not allowed
        b"\x32\x05\x00\x09ab",  # topic length beyond the packet
        b"\x32\xff\xff\xff\xff\x01",  # a remaining length of five bytes
    ],
)
def test_what_it_does_not_understand_goes_to_paho(packet: bytes) -> None:
    client, got = reader(paho.MQTTv311)
    client._rbuf, client._rpos = packet, 0
    assert client._read_publishes(client.on_publish_raw) == 0  # type: ignore[arg-type]
    assert got == []
    assert client._rpos == 0
