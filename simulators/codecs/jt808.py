"""JT/T 808 terminal frames: 0x0200 location, 0x0704 batch, 0x0002 heartbeat.

Written from the standard (JT/T 808-2013 and its 2019 revision), not shared
with the ingest decoder: the two are meant to be checked against each other.

Frame: ``0x7e | header | body | check | 0x7e`` where ``check`` is the XOR of
every header and body byte, and inside the frame 0x7e is escaped as 0x7d 0x02
and 0x7d as 0x7d 0x01. Header (2013): message id WORD, body properties WORD
(bits 0-9 body length, 10-12 encryption, 13 sub-package), terminal phone
BCD[6], serial WORD. The 2019 header sets properties bit 14 (version flag),
adds a protocol version BYTE after the properties and widens the phone to
BCD[10]. All multi-byte integers are big-endian.

0x0200 body: alarm DWORD, status DWORD, latitude and longitude DWORD in 1e-6
degrees (sign carried by status bits 2 and 3), altitude WORD in metres, speed
WORD in 0.1 km/h, direction WORD in degrees, time BCD[6] ``YYMMDDhhmmss`` in
GMT+8; then additional items ``id BYTE, length BYTE, value``: 0x01 mileage
DWORD 0.1 km, 0x02 fuel WORD 0.1 L, 0x30 signal strength BYTE, 0x31 GNSS
satellites BYTE. 0x0704 body: count WORD, type BYTE (0 normal batch, 1
blind-area backfill), then per item a length WORD and a 0x0200 body.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from simulators.fixes import Fix

MSG_HEARTBEAT: Final = 0x0002
MSG_LOCATION: Final = 0x0200
MSG_BATCH: Final = 0x0704

#: Alarm flag bits (table 24 of JT/T 808-2013) for the alarms the reading knows.
ALARM_BITS: Final = {
    "emergency": 0,
    "gnss_fault": 4,
    "antenna_cut": 5,
    "antenna_short": 6,
    "under_voltage": 7,
    "main_power_lost": 8,
    "area_in": 20,
    "area_out": 20,
    "stolen": 26,
    "illegal_ignition": 27,
    "illegal_displacement": 28,
    "case_opened": 31,  # "illegal door open": the closest standard bit for an opened case
}
STATUS_ACC: Final = 1 << 0
STATUS_POSITIONED: Final = 1 << 1
STATUS_SOUTH: Final = 1 << 2
STATUS_WEST: Final = 1 << 3
STATUS_OIL_CUT: Final = 1 << 10
_GMT8: Final = 8 * 3600


@dataclass(frozen=True, slots=True)
class FrameOptions:
    """Header details of one terminal: phone number and protocol revision."""

    phone: str  # 12 digits (2013) -- left-padded with zeros to 20 digits in a 2019 header
    v2019: bool = False
    protocol_version: int = 1
    tank_l: float = 400.0  # to turn fuel_pct into the 0x02 fuel quantity (0.1 L)


def bcd(digits: str) -> bytes:
    """Packed BCD, two digits per byte, most significant first."""
    if len(digits) % 2 or not digits.isdigit():
        raise ValueError(f"BCD needs an even number of decimal digits, got {digits!r}")
    return bytes(int(digits[i]) << 4 | int(digits[i + 1]) for i in range(0, len(digits), 2))


def bcd_time(t: float) -> bytes:
    tm = time.gmtime(int(t) + _GMT8)
    return bcd(
        f"{tm.tm_year % 100:02d}{tm.tm_mon:02d}{tm.tm_mday:02d}"
        f"{tm.tm_hour:02d}{tm.tm_min:02d}{tm.tm_sec:02d}"
    )


def location_body(fix: Fix, *, tank_l: float = 400.0) -> bytes:
    """The 0x0200 body (also the item of a 0x0704 batch)."""
    alarm = 0
    for name in fix.alarms:
        bit = ALARM_BITS.get(name)
        if bit is not None:
            alarm |= 1 << bit
    status = STATUS_ACC if fix.ignition else 0
    lat = fix.lat if fix.lat is not None else 0.0
    lon = fix.lon if fix.lon is not None else 0.0
    if fix.lat is not None:
        status |= STATUS_POSITIONED
    if lat < 0:
        status |= STATUS_SOUTH
    if lon < 0:
        status |= STATUS_WEST
    body = struct.pack(
        ">IIIIHHH",
        alarm,
        status,
        round(abs(lat) * 1e6),
        round(abs(lon) * 1e6),
        max(0, min(0xFFFF, round(fix.alt_m or 0.0))),
        max(0, min(0xFFFF, round((fix.speed_kmh or 0.0) * 10))),
        round(fix.heading_deg or 0.0) % 360,
    ) + bcd_time(fix.t)
    extra = bytearray()
    if fix.odometer_km is not None:
        extra += struct.pack(">BBI", 0x01, 4, round(fix.odometer_km * 10))
    if fix.fuel_pct is not None:
        extra += struct.pack(">BBH", 0x02, 2, min(0xFFFF, round(fix.fuel_pct * tank_l / 100 * 10)))
    extra += struct.pack(">BBB", 0x30, 1, 24 if fix.sats else 9)
    if fix.sats is not None:
        extra += struct.pack(">BBB", 0x31, 1, fix.sats)
    return body + bytes(extra)


def _escape(raw: bytes) -> bytes:
    return raw.replace(b"\x7d", b"\x7d\x01").replace(b"\x7e", b"\x7d\x02")


def encode_frame(msg_id: int, body: bytes, serial: int, opts: FrameOptions) -> bytes:
    """A complete, escaped frame with its check code."""
    if len(body) > 0x3FF:
        raise ValueError(f"JT/T 808 body of {len(body)} bytes needs sub-packaging (max 1023)")
    props = len(body)
    if opts.v2019:
        props |= 1 << 14
        header = struct.pack(">HHB", msg_id, props, opts.protocol_version) + bcd(
            opts.phone.rjust(20, "0")
        )
    else:
        header = struct.pack(">HH", msg_id, props) + bcd(opts.phone.rjust(12, "0")[-12:])
    header += struct.pack(">H", serial & 0xFFFF)
    raw = header + body
    check = 0
    for b in raw:
        check ^= b
    return b"\x7e" + _escape(raw + bytes((check,))) + b"\x7e"


def encode_location(fix: Fix, opts: FrameOptions) -> bytes:
    return encode_frame(MSG_LOCATION, location_body(fix, tank_l=opts.tank_l), fix.seq, opts)


def encode_heartbeat(serial: int, opts: FrameOptions) -> bytes:
    return encode_frame(MSG_HEARTBEAT, b"", serial, opts)


def encode_batch(
    fixes: Sequence[Fix], serial: int, opts: FrameOptions, *, backfill: bool = True
) -> list[bytes]:
    """0x0704 frames (type 1 = blind-area backfill), split to respect the body limit."""
    frames: list[bytes] = []
    items: list[bytes] = []
    size = 3
    for fix in fixes:
        body = location_body(fix, tank_l=opts.tank_l)
        if items and size + 2 + len(body) > 0x3FF:
            frames.append(_batch(items, serial + len(frames), opts, backfill))
            items, size = [], 3
        items.append(body)
        size += 2 + len(body)
    if items:
        frames.append(_batch(items, serial + len(frames), opts, backfill))
    return frames


def _batch(items: list[bytes], serial: int, opts: FrameOptions, backfill: bool) -> bytes:
    body = struct.pack(">HB", len(items), 1 if backfill else 0)
    body += b"".join(struct.pack(">H", len(i)) + i for i in items)
    return encode_frame(MSG_BATCH, body, serial, opts)
