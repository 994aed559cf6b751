"""The assetwatch JSON reading (topic ``assetwatch/{device_id}/telemetry``).

One object, or an array of objects (a store-and-forward batch). ``ts`` is
required (RFC 3339 with a zone, or epoch milliseconds); every other field of
the interface contract is optional. This is the hot path: one pass over the
keys that are present, a type check per value from a prebuilt table, and one
:class:`~telemetry.model.Reading` constructor call per reading. Unknown keys are
ignored (devices add diagnostics); a ``device_id`` key, when present, must
match the topic.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

import orjson

from ingest.codecs.base import ID_DEVICE, DecodeContext, Decoded, Group
from ingest.errors import DecodeError
from telemetry.model import Reading

_NUM: Final = 1
_INT: Final = 2
_BOOL: Final = 3

_FIELDS: Final[dict[str, int]] = {
    "seq": _INT,
    "lat": _NUM,
    "lon": _NUM,
    "alt_m": _NUM,
    "speed_kmh": _NUM,
    "heading_deg": _NUM,
    "hdop": _NUM,
    "sats": _INT,
    "ignition": _BOOL,
    "engine_on": _BOOL,
    "engine_hours": _NUM,
    "odometer_km": _NUM,
    "fuel_pct": _NUM,
    "battery_v": _NUM,
    "ext_power": _BOOL,
    "tamper": _BOOL,
}
_MAX_BATCH: Final = 10_000
_EPOCH_MS_MAX: Final = 253_402_300_799_000  # 9999-12-31T23:59:59Z


def parse_ts(value: object) -> datetime:
    """Event time from RFC 3339 text (with a zone) or epoch milliseconds."""
    if isinstance(value, str):
        try:
            ts = datetime.fromisoformat(value)
        except ValueError:
            raise DecodeError("bad_ts", f"ts {value[:40]!r} is not RFC 3339") from None
        if ts.tzinfo is None:
            raise DecodeError("bad_ts", f"ts {value[:40]!r} has no time zone")
        return ts.astimezone(UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not 0 <= value <= _EPOCH_MS_MAX:
            raise DecodeError("bad_ts", f"ts {value!r} is not epoch milliseconds")
        return datetime.fromtimestamp(value / 1000.0, UTC)
    if value is None:
        raise DecodeError("missing_ts", "ts is required")
    raise DecodeError("bad_ts", f"ts must be RFC 3339 text or epoch ms, not {type(value).__name__}")


def _metrics(value: object) -> dict[str, float]:
    if not isinstance(value, dict):
        raise DecodeError("bad_field", "metrics must be an object of name -> number")
    for k, v in value.items():
        if type(v) is not float and (type(v) is not int):
            raise DecodeError("bad_field", f"metrics.{k[:64]} must be a number")
    return value


def reading_from_obj(obj: object, ctx: DecodeContext) -> Reading:
    """One JSON object to a reading (types checked; ranges are the validate stage's)."""
    if type(obj) is not dict:
        raise DecodeError("not_object", "a reading must be a JSON object")
    kw: dict[str, Any] = {}
    ts: object = None
    fields = _FIELDS
    for key, value in obj.items():
        kind = fields.get(key)
        if kind is None:
            if key == "ts":
                ts = value
            elif key == "metrics":
                kw["metrics"] = _metrics(value)
            elif key == "device_id" and value != ctx.topic_device:
                raise DecodeError(
                    "device_mismatch",
                    f"device_id {str(value)[:64]!r} does not match the topic's"
                    f" {ctx.topic_device!r}",
                )
            continue
        if value is None:
            continue
        vt = type(value)
        if kind == _NUM:
            if vt is not float and vt is not int:
                raise DecodeError("bad_field", f"{key} must be a number")
        elif kind == _INT:
            if vt is not int:
                raise DecodeError("bad_field", f"{key} must be an integer")
        elif vt is not bool:
            raise DecodeError("bad_field", f"{key} must be true or false")
        kw[key] = value
    event = parse_ts(ts)
    received = ctx.received_at
    return Reading(
        ctx.topic_device,
        event,
        received_at=received,
        late=received - event > ctx.late_after,
        source="json",
        topic=ctx.topic,
        message_id=ctx.message_id,
        **kw,
    )


def decode(payload: bytes, ctx: DecodeContext) -> Decoded:
    """Decode one telemetry message (object or array of objects)."""
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise DecodeError("json_syntax", f"not JSON: {exc}") from None
    if type(doc) is list:
        if not doc:
            raise DecodeError("empty_batch", "an empty array carries no readings")
        if len(doc) > _MAX_BATCH:
            raise DecodeError("batch_too_large", f"more than {_MAX_BATCH} readings in one message")
        readings = tuple([reading_from_obj(o, ctx) for o in doc])
    else:
        readings = (reading_from_obj(doc, ctx),)
    return Decoded("json", (Group(ID_DEVICE, ctx.topic_device, readings),))
