"""JT/T 808 (2013 and 2019) frames from vehicle terminals (topic ``.../jt808``).

Written from the standard's tables (JT/T 808-2013 §4 message structure, §8.18
location report 0x0200 with Tables 24-28, §8.54 batch upload 0x0704, §8.2
heartbeat 0x0002; JT/T 808-2019 adds the version flag, the protocol version
byte and a 10-byte BCD phone number). No maintained Python library decodes
JT/T 808, which is why this parser is hand-written; it is bounds-checked at
every read so any byte sequence either decodes or raises :class:`DecodeError`.

A payload holds one or more ``0x7e``-delimited frames. Framing: ``0x7e`` flag,
``0x7d 0x02`` -> ``0x7e`` and ``0x7d 0x01`` -> ``0x7d`` escaping, XOR check code
over header and body. Times are BCD ``YYMMDDhhmmss`` in GMT+8.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Final

from ingest.codecs.base import ID_JT808, DecodeContext, Decoded, Group
from ingest.errors import DecodeError
from telemetry.model import Reading

MSG_HEARTBEAT: Final = 0x0002
MSG_LOCATION: Final = 0x0200
MSG_BATCH: Final = 0x0704

_GMT8: Final = timezone(timedelta(hours=8))

#: Alarm flag bits (Table 24) that matter to a lender -> reading alarm names.
ALARM_BITS: Final[dict[int, str]] = {
    0: "emergency",
    4: "gnss_fault",
    5: "antenna_cut",  # GNSS antenna not connected or cut
    6: "antenna_short",
    7: "under_voltage",  # terminal main power under-voltage
    8: "main_power_lost",  # terminal main power off
    26: "stolen",  # vehicle stolen (via the anti-theft device)
    27: "illegal_ignition",
    28: "illegal_displacement",
}
_AREA_BIT: Final = 20  # in/out of area; direction in extra item 0x12
#: Alarms that mean someone is interfering with the terminal.
TAMPER_ALARMS: Final = frozenset({"antenna_cut", "main_power_lost", "case_opened"})

# Status bits (Table 25)
_ST_ACC: Final = 1 << 0
_ST_FIXED: Final = 1 << 1
_ST_SOUTH: Final = 1 << 2
_ST_WEST: Final = 1 << 3

# Extra items (Table 27)
_X_MILEAGE: Final = 0x01  # DWORD, 1/10 km
_X_FUEL: Final = 0x02  # WORD, 1/10 L
_X_AREA: Final = 0x12  # in/out area alarm: type BYTE, id DWORD, direction BYTE (0 in, 1 out)
_X_SIGNAL: Final = 0x30  # BYTE, wireless signal strength
_X_SATS: Final = 0x31  # BYTE, GNSS satellites in view

_MAX_FRAMES: Final = 64
_LOC: Final = struct.Struct(">IIIIHHH6s")


@dataclass(frozen=True, slots=True)
class Frame:
    """One unescaped, checked frame."""

    msg_id: int
    version: int | None  # None for 2013, protocol version byte for 2019
    phone: str
    serial: int
    body: bytes


def unescape(data: bytes) -> bytes:
    """Reverse the 0x7d escaping of one frame's content."""
    if 0x7D not in data:
        return data
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if b == 0x7D:
            if i + 1 >= n or data[i + 1] not in (0x01, 0x02):
                raise DecodeError("jt808_escape", f"bad escape sequence at byte {i}")
            out.append(0x7D if data[i + 1] == 0x01 else 0x7E)
            i += 2
        else:
            out.append(b)
            i += 1
    return bytes(out)


def _bcd(data: bytes) -> str:
    digits = data.hex()
    if not digits.isdigit():
        raise DecodeError("jt808_bcd", f"not BCD: {digits}")
    return digits


def parse_frame(raw: bytes) -> Frame:
    """Parse the content between two 0x7e flags (escaped form)."""
    data = unescape(raw)
    if len(data) < 13:
        raise DecodeError("jt808_short", f"frame of {len(data)} bytes is shorter than a header")
    check = 0
    for b in data[:-1]:
        check ^= b
    if check != data[-1]:
        raise DecodeError("jt808_check", f"check code {data[-1]:#04x} != computed {check:#04x}")
    msg_id, attrs = struct.unpack_from(">HH", data, 0)
    body_len = attrs & 0x03FF
    if attrs & 0x1C00:
        raise DecodeError("jt808_encrypted", "encrypted bodies are not supported")
    if attrs & 0x4000:  # 2019: version flag, protocol version byte, BCD[10] phone
        if len(data) < 18:
            raise DecodeError("jt808_short", "2019 header truncated")
        version: int | None = data[4]
        phone = _bcd(data[5:15])
        (serial,) = struct.unpack_from(">H", data, 15)
        pos = 17
    else:
        version = None
        phone = _bcd(data[4:10])
        (serial,) = struct.unpack_from(">H", data, 10)
        pos = 12
    if attrs & 0x2000:
        raise DecodeError("jt808_subpackage", "sub-packaged messages are not supported")
    body = data[pos:-1]
    if len(body) != body_len:
        raise DecodeError("jt808_length", f"body is {len(body)} bytes, header says {body_len}")
    return Frame(msg_id, version, phone, serial, body)


def split_frames(payload: bytes) -> list[bytes]:
    """The escaped contents of every 0x7e ... 0x7e frame in ``payload``."""
    if not payload or payload[0] != 0x7E or payload[-1] != 0x7E:
        raise DecodeError("jt808_flag", "a JT/T 808 payload starts and ends with 0x7e")
    parts = [p for p in payload.split(b"\x7e") if p]
    if not parts:
        raise DecodeError("jt808_empty", "no frame between the 0x7e flags")
    if len(parts) > _MAX_FRAMES:
        raise DecodeError("jt808_frames", f"more than {_MAX_FRAMES} frames in one message")
    return parts


def _bcd_time(raw: bytes) -> datetime:
    digits = _bcd(raw)
    try:
        local = datetime(
            2000 + int(digits[0:2]),
            int(digits[2:4]),
            int(digits[4:6]),
            int(digits[6:8]),
            int(digits[8:10]),
            int(digits[10:12]),
            tzinfo=_GMT8,
        )
    except ValueError as exc:
        raise DecodeError("jt808_time", f"bad BCD time {digits}: {exc}") from None
    return local.astimezone(UTC)


def location(body: bytes, phone: str, serial: int, ctx: DecodeContext) -> Reading:
    """Decode a location report body (0x0200, or one item of 0x0704)."""
    if len(body) < _LOC.size:
        raise DecodeError("jt808_short", f"location body of {len(body)} bytes < 28")
    alarm, status, lat_u, lon_u, _alt, speed, heading, when = _LOC.unpack_from(body, 0)
    ts = _bcd_time(when)
    alarms = [name for bit, name in ALARM_BITS.items() if alarm >> bit & 1]
    metrics: dict[str, float] = {}
    kw: dict[str, Any] = {}
    area_dir: int | None = None
    pos = _LOC.size
    n = len(body)
    while pos < n:
        if pos + 2 > n:
            raise DecodeError("jt808_extra", "truncated extra item header")
        item, length = body[pos], body[pos + 1]
        value = body[pos + 2 : pos + 2 + length]
        if len(value) != length:
            raise DecodeError("jt808_extra", f"extra item {item:#04x} truncated")
        pos += 2 + length
        if item == _X_MILEAGE and length == 4:
            kw["odometer_km"] = int.from_bytes(value, "big") / 10.0
        elif item == _X_FUEL and length == 2:
            metrics["fuel_l"] = int.from_bytes(value, "big") / 10.0
        elif item == _X_SIGNAL and length == 1:
            metrics["signal"] = float(value[0])
        elif item == _X_SATS and length == 1:
            kw["sats"] = value[0]
        elif item == _X_AREA and length == 6:
            area_dir = value[5]
    if alarm >> _AREA_BIT & 1:
        # Without item 0x12 the direction is unknown; "out" is the case a lender acts on.
        alarms.append("area_in" if area_dir == 0 else "area_out")
    if status & _ST_FIXED:
        lat = lat_u / 1e6
        lon = lon_u / 1e6
        kw["lat"] = -lat if status & _ST_SOUTH else lat
        kw["lon"] = -lon if status & _ST_WEST else lon
        kw["alt_m"] = float(struct.unpack(">h", body[16:18])[0])  # signed per 2019
        kw["speed_kmh"] = speed / 10.0
        kw["heading_deg"] = float(heading)
    main_lost = "main_power_lost" in alarms
    received = ctx.received_at
    return Reading(
        phone,
        ts,
        ignition=bool(status & _ST_ACC),
        alarms=tuple(alarms),
        tamper=any(a in TAMPER_ALARMS for a in alarms),
        ext_power=False if main_lost else None,
        metrics=metrics,
        received_at=received,
        late=received - ts > ctx.late_after,
        source="jt808",
        topic=ctx.topic,
        message_id=f"{ctx.message_id}:{serial}",
        **kw,
    )


def batch(body: bytes, phone: str, serial: int, ctx: DecodeContext) -> list[Reading]:
    """Decode a 0x0704 batch upload (type 0 normal, 1 blind-area backfill)."""
    if len(body) < 3:
        raise DecodeError("jt808_short", "batch header truncated")
    count, kind = struct.unpack_from(">HB", body, 0)
    if kind not in (0, 1):
        raise DecodeError("jt808_batch", f"unknown batch type {kind}")
    out: list[Reading] = []
    pos = 3
    for _ in range(count):
        if pos + 2 > len(body):
            raise DecodeError("jt808_batch", f"batch says {count} items, body ends early")
        (length,) = struct.unpack_from(">H", body, pos)
        item = body[pos + 2 : pos + 2 + length]
        if len(item) != length:
            raise DecodeError("jt808_batch", "batch item truncated")
        out.append(location(item, phone, serial, ctx))
        pos += 2 + length
    if pos != len(body):
        raise DecodeError("jt808_batch", "bytes left after the last batch item")
    return out


def normalise_phone(phone: str) -> str:
    """Registry form of a terminal phone: 12 BCD digits (2013), leading zeros kept.

    A 2019 frame carries 20 digits; its last 12 match a registry entry when the
    leading digits are zero padding.
    """
    return phone[-12:] if len(phone) > 12 and not phone[:-12].strip("0") else phone


def decode(payload: bytes, ctx: DecodeContext) -> Decoded:
    """Decode every frame in one MQTT message."""
    groups: list[Group] = []
    for raw in split_frames(payload):
        frame = parse_frame(raw)
        phone = normalise_phone(frame.phone)
        if frame.msg_id == MSG_LOCATION:
            readings = [location(frame.body, phone, frame.serial, ctx)]
        elif frame.msg_id == MSG_BATCH:
            readings = batch(frame.body, phone, frame.serial, ctx)
        elif frame.msg_id == MSG_HEARTBEAT:
            readings = []  # keeps the terminal known to be alive; nothing to store
        else:
            raise DecodeError("jt808_msg_id", f"message id {frame.msg_id:#06x} is not handled")
        groups.append(Group(ID_JT808, phone, tuple(readings)))
    return Decoded("jt808", tuple(groups))
