"""AIS position reports from ship transponders (topic ``.../ais``), decoded with pyais.

A payload holds one or more ``!AIVDM``/``!AIVDO`` lines, optionally behind an
NMEA 4.0 tag block (``\\c:<unix time>*hh\\``). A multi-sentence message may be
split across MQTT messages: fragments wait per device (keyed by channel and
sequence id) until the last one arrives, at most ``PENDING_TTL`` of receive time
and ``MAX_PENDING`` groups per device. Position reports (types 1, 2, 3, 18, 19)
become readings; every other type is accepted and ignored.

Event time: the tag block's ``c:`` when present; otherwise the receive time with
its seconds replaced by the report's UTC second (the report does not carry the
minute), stepping back a minute if that lands in the future. Redelivered copies
of a tag-less message can therefore get a different event time; terminals that
need exactly-once storage should send tag blocks.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Final

from pyais.messages import NMEAMessage, NMEASentenceFactory

from ingest.codecs.base import ID_MMSI, DecodeContext, Decoded, Group
from ingest.errors import DecodeError
from telemetry.model import Reading

POSITION_TYPES: Final = frozenset({1, 2, 3, 18, 19})
PENDING_TTL: Final = timedelta(seconds=120)
MAX_PENDING: Final = 32
MAX_LINES: Final = 256
_KNOT_KMH: Final = 1.852

_Key = tuple[str, str, int | None, int]


class AisDecoder:
    """Stateful decoder: holds incomplete multi-sentence messages per device."""

    def __init__(self) -> None:
        self._pending: dict[str, dict[_Key, tuple[datetime, list[Any]]]] = {}

    @property
    def pending_groups(self) -> int:
        return sum(len(v) for v in self._pending.values())

    def decode(self, payload: bytes, ctx: DecodeContext) -> Decoded:
        """Decode the lines of one message; fragments may complete earlier ones."""
        lines = [ln.strip() for ln in payload.splitlines() if ln.strip()]
        if not lines:
            raise DecodeError("ais_empty", "no NMEA line in the payload")
        if len(lines) > MAX_LINES:
            raise DecodeError("ais_lines", f"more than {MAX_LINES} lines in one message")
        complete: list[list[Any]] = []
        pending = self._pending.setdefault(ctx.topic_device, {})
        self._expire(pending, ctx.received_at)
        for line in lines:
            sentence = _sentence(line)
            if sentence.frag_cnt == 1:
                complete.append([sentence])
                continue
            key: _Key = (ctx.topic_device, sentence.channel, sentence.seq_id, sentence.frag_cnt)
            if sentence.frag_num == 1 or key not in pending:
                if sentence.frag_num != 1:
                    raise DecodeError(
                        "ais_fragment", f"fragment {sentence.frag_num} without fragment 1"
                    )
                if len(pending) >= MAX_PENDING:
                    raise DecodeError("ais_pending", "too many incomplete AIS messages")
                pending[key] = (ctx.received_at, [sentence])
            else:
                parts = pending[key][1]
                if sentence.frag_num != len(parts) + 1:
                    del pending[key]
                    raise DecodeError("ais_fragment", "AIS fragments out of order")
                parts.append(sentence)
            if len(pending[key][1]) == sentence.frag_cnt:
                complete.append(pending.pop(key)[1])
        if not pending:
            self._pending.pop(ctx.topic_device, None)
        groups: dict[str, list[Reading]] = {}
        for parts in complete:
            reading = _reading(parts, ctx)
            if reading is not None:
                groups.setdefault(reading.device_id, []).append(reading)
        return Decoded("ais", tuple(Group(ID_MMSI, k, tuple(v)) for k, v in groups.items()))

    @staticmethod
    def _expire(pending: dict[_Key, tuple[datetime, list[Any]]], now: datetime) -> None:
        for key in [k for k, (t, _) in pending.items() if now - t > PENDING_TTL]:
            del pending[key]


def _sentence(line: bytes) -> Any:
    try:
        sentence = NMEASentenceFactory.produce(line)
    except Exception as exc:  # pyais raises many types on malformed input
        raise DecodeError("ais_syntax", f"not an NMEA AIS sentence: {exc!s:.120}") from None
    if not isinstance(sentence, NMEAMessage):
        raise DecodeError("ais_syntax", "not an !AIVDM/!AIVDO sentence")
    return sentence


def _event_time(first: Any, second: object, ctx: DecodeContext) -> datetime:
    tb = first.tag_block
    if tb is not None:
        try:
            tb.init()
            stamp = tb.receiver_timestamp
        except Exception as exc:  # malformed tag block
            raise DecodeError("ais_tag_block", f"bad tag block: {exc!s:.120}") from None
        if stamp:
            try:
                value = float(stamp)
            except ValueError:
                raise DecodeError("ais_tag_block", f"bad c: time {stamp!r}") from None
            if value > 1e11:  # some receivers send milliseconds
                value /= 1000.0
            if not 0 < value < 253402300799:
                raise DecodeError("ais_tag_block", f"c: time {stamp!r} out of range")
            return datetime.fromtimestamp(value, UTC)
    now = ctx.received_at
    if isinstance(second, int) and 0 <= second < 60:
        ts = now.replace(second=second, microsecond=0)
        return ts - timedelta(minutes=1) if ts > now else ts
    return now.replace(microsecond=0)


def _reading(parts: list[Any], ctx: DecodeContext) -> Reading | None:
    try:
        msg = NMEAMessage.assemble_from_iterable(parts) if len(parts) > 1 else parts[0]
        data: Any = msg.decode()
    except Exception as exc:  # pyais raises many types on malformed payload bits
        raise DecodeError("ais_payload", f"AIS payload does not decode: {exc!s:.120}") from None
    if data.msg_type not in POSITION_TYPES:
        return None
    try:  # a short payload leaves fields unset (None)
        mmsi = f"{int(data.mmsi):09d}"
        lat, lon = float(data.lat), float(data.lon)
        speed, course = float(data.speed), float(data.course)
        second = getattr(data, "second", None)
    except (TypeError, ValueError, AttributeError) as exc:
        raise DecodeError("ais_fields", f"AIS position report incomplete: {exc!s:.80}") from None
    if len(mmsi) != 9:
        raise DecodeError("ais_fields", f"MMSI {mmsi} is not 9 digits")
    ts = _event_time(parts[0], second, ctx)
    kw: dict[str, Any] = {}
    if abs(lat) <= 90 and abs(lon) <= 180:  # 91 / 181 mean "not available"
        kw["lat"], kw["lon"] = lat, lon
    if speed < 102.3:  # 102.3 knots means "not available"
        kw["speed_kmh"] = round(speed * _KNOT_KMH, 3)
    if course < 360:
        kw["heading_deg"] = course
    received = ctx.received_at
    return Reading(
        mmsi,
        ts,
        received_at=received,
        late=received - ts > ctx.late_after,
        source="ais",
        topic=ctx.topic,
        message_id=ctx.message_id,
        **kw,
    )
