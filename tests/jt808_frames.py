"""A tiny JT/T 808 frame builder for the ingest tests, written from the standard.

Independent of the decoder under test (and of the simulators' encoder): header
(2013 or 2019), body, XOR check code, 0x7d/0x7e escaping, 0x7e flags.
"""

from __future__ import annotations

import struct
from datetime import datetime, timedelta, timezone

GMT8 = timezone(timedelta(hours=8))


def bcd(digits: str) -> bytes:
    return bytes.fromhex(digits)


def frame(
    msg_id: int,
    body: bytes,
    phone: str = "013800000001",
    serial: int = 1,
    version2019: bool = False,
) -> bytes:
    attrs = len(body)
    if version2019:
        header = struct.pack(">HHB", msg_id, attrs | 0x4000, 1) + bcd(phone.rjust(20, "0"))
    else:
        header = struct.pack(">HH", msg_id, attrs) + bcd(phone)
    content = header + struct.pack(">H", serial) + body
    check = 0
    for b in content:
        check ^= b
    content += bytes([check])
    escaped = content.replace(b"\x7d", b"\x7d\x01").replace(b"\x7e", b"\x7d\x02")
    return b"\x7e" + escaped + b"\x7e"


def location_body(
    ts: datetime,
    *,
    lat: float = 31.2304,
    lon: float = 121.4737,
    speed_kmh: float = 36.5,
    heading: int = 90,
    alt: int = 12,
    alarm: int = 0,
    status: int = 0b11,
    extras: bytes = b"",
) -> bytes:
    local = ts.astimezone(GMT8)
    when = bcd(local.strftime("%y%m%d%H%M%S"))
    return (
        struct.pack(
            ">IIIIHHH",
            alarm,
            status,
            round(abs(lat) * 1e6),
            round(abs(lon) * 1e6),
            alt,
            round(speed_kmh * 10),
            heading,
        )
        + when
        + extras
    )


def extra(item: int, value: bytes) -> bytes:
    return bytes([item, len(value)]) + value


def batch_body(items: list[bytes], kind: int = 1) -> bytes:
    out = struct.pack(">HB", len(items), kind)
    for it in items:
        out += struct.pack(">H", len(it)) + it
    return out
