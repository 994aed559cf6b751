"""The assetwatch JSON reading (topic ``assetwatch/{device_id}/telemetry``).

One object, or an array of objects (a store-and-forward batch). ``ts`` is
required (RFC 3339 with a zone, or epoch milliseconds); every other field of
the interface contract is optional. Unknown keys are ignored (devices add
diagnostics); a ``device_id`` key, when present, must match the topic.

This is the hot path: every single-reading message goes through it. A
well-formed payload is decoded and type-checked in one C-level pass by msgspec
into :class:`_Wire` (about a tenth of the cost of ``orjson.loads`` followed by a
Python loop over the keys). Anything msgspec refuses - bad JSON, a wrong type,
a ``null`` where the contract has no use for one - goes through the
key-by-key path (:func:`reading_from_obj`), which names the problem; so the
errors, and the readings of every payload both paths accept, are the same
(``tests/unit/test_ingest_json_fastpath.py`` checks both on random payloads).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Final

import msgspec
import orjson

from ingest.codecs.base import ID_DEVICE, DecodeContext, Decoded, Group
from ingest.errors import DecodeError
from telemetry.model import EMPTY_METRICS, FIELD_BOUNDS, METRIC_NAME_MAX, Reading

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
    return {k: float(v) for k, v in value.items()}


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
            if vt is int:
                value = float(value)  # as msgspec reads it (orjson's ints fit 64 bits)
            elif vt is not float:
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


_Int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]


class _Wire(msgspec.Struct):
    """The JSON reading as msgspec checks it: the types of :data:`_FIELDS`.

    ``null`` is accepted where the key-by-key path skips it (the optional
    measurements); ``ts``, ``metrics`` and ``device_id`` have no ``null`` form,
    so a ``null`` there fails here and the slow path names the error. A JSON
    integer becomes a float in a float field and in ``metrics`` (the key-by-key
    path converts it the same way); an integer outside 64 bits (signed) in an
    integer field goes to the slow path.
    """

    ts: str | _Int64 | float | msgspec.UnsetType = msgspec.UNSET
    seq: _Int64 | None = None
    lat: float | None = None
    lon: float | None = None
    alt_m: float | None = None
    speed_kmh: float | None = None
    heading_deg: float | None = None
    hdop: float | None = None
    sats: _Int64 | None = None
    ignition: bool | None = None
    engine_on: bool | None = None
    engine_hours: float | None = None
    odometer_km: float | None = None
    fuel_pct: float | None = None
    battery_v: float | None = None
    ext_power: bool | None = None
    tamper: bool | None = None
    metrics: dict[str, float] | msgspec.UnsetType = msgspec.UNSET
    device_id: str | msgspec.UnsetType = msgspec.UNSET


_B: Final = {name: (low, high) for name, low, high in FIELD_BOUNDS}
_FLOAT_MAX: Final = sys.float_info.max
_Lat = Annotated[float, msgspec.Meta(ge=_B["lat"][0], le=_B["lat"][1])]
_Lon = Annotated[float, msgspec.Meta(ge=_B["lon"][0], le=_B["lon"][1])]
_Alt = Annotated[float, msgspec.Meta(ge=_B["alt_m"][0], le=_B["alt_m"][1])]
_Speed = Annotated[float, msgspec.Meta(ge=_B["speed_kmh"][0], le=_B["speed_kmh"][1])]
_Heading = Annotated[float, msgspec.Meta(ge=_B["heading_deg"][0], le=_B["heading_deg"][1])]
_Hdop = Annotated[float, msgspec.Meta(ge=_B["hdop"][0], le=_B["hdop"][1])]
_Sats = Annotated[int, msgspec.Meta(ge=int(_B["sats"][0]), le=int(_B["sats"][1]))]
_Hours = Annotated[float, msgspec.Meta(ge=_B["engine_hours"][0], le=_B["engine_hours"][1])]
_Odo = Annotated[float, msgspec.Meta(ge=_B["odometer_km"][0], le=_B["odometer_km"][1])]
_Fuel = Annotated[float, msgspec.Meta(ge=_B["fuel_pct"][0], le=_B["fuel_pct"][1])]
_Volts = Annotated[float, msgspec.Meta(ge=_B["battery_v"][0], le=_B["battery_v"][1])]
_Seq = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
_MetricName = Annotated[str, msgspec.Meta(min_length=1, max_length=METRIC_NAME_MAX)]
_Finite = Annotated[float, msgspec.Meta(ge=-_FLOAT_MAX, le=_FLOAT_MAX)]


class _WireInRange(msgspec.Struct):
    """:class:`_Wire` with the store's ranges (``telemetry.model.FIELD_BOUNDS``) as constraints.

    msgspec checks them in the same C pass as the types, so a reading decoded
    through this struct needs only the event-time and lat/lon-pair checks in the
    validate stage (``Decoded.ranges_checked``). A payload it refuses is decoded
    again through :class:`_Wire` and checked reading by reading, which names
    the field: the rejects and their reasons are the same either way
    (``tests/unit/test_ingest_json_fastpath.py``).
    """

    ts: str | _Int64 | float | msgspec.UnsetType = msgspec.UNSET
    seq: _Seq | None = None
    lat: _Lat | None = None
    lon: _Lon | None = None
    alt_m: _Alt | None = None
    speed_kmh: _Speed | None = None
    heading_deg: _Heading | None = None
    hdop: _Hdop | None = None
    sats: _Sats | None = None
    ignition: bool | None = None
    engine_on: bool | None = None
    engine_hours: _Hours | None = None
    odometer_km: _Odo | None = None
    fuel_pct: _Fuel | None = None
    battery_v: _Volts | None = None
    ext_power: bool | None = None
    tamper: bool | None = None
    metrics: dict[_MetricName, _Finite] | msgspec.UnsetType = msgspec.UNSET
    device_id: str | msgspec.UnsetType = msgspec.UNSET


_WIRE: Final = msgspec.json.Decoder(_Wire | list[_Wire])
_WIRE_IN_RANGE: Final = msgspec.json.Decoder(_WireInRange | list[_WireInRange])
_UNSET: Final = msgspec.UNSET


def _reading_from_wire(w: _Wire | _WireInRange, ctx: DecodeContext) -> Reading:
    if w.device_id is not _UNSET and w.device_id != ctx.topic_device:
        raise DecodeError(
            "device_mismatch",
            f"device_id {w.device_id[:64]!r} does not match the topic's {ctx.topic_device!r}",
        )
    event = parse_ts(None if w.ts is _UNSET else w.ts)
    received = ctx.received_at
    metrics = EMPTY_METRICS if w.metrics is _UNSET else w.metrics
    # Positional, in field order: the keyword form costs a microsecond a reading.
    return Reading(
        ctx.topic_device, event, w.seq, w.lat, w.lon, w.alt_m, w.speed_kmh, w.heading_deg,
        w.hdop, w.sats, w.ignition, w.engine_on, w.engine_hours, w.odometer_km, w.fuel_pct,
        w.battery_v, w.ext_power, w.tamper, (), metrics, received, "json", ctx.topic,
        ctx.message_id, received - event > ctx.late_after,
    )  # fmt: skip


def decode(payload: bytes, ctx: DecodeContext) -> Decoded:
    """Decode one telemetry message (object or array of objects)."""
    try:
        # msgspec skips unknown keys without checking their UTF-8; orjson
        # refuses invalid UTF-8 anywhere, so such payloads take its path.
        if not payload.isascii():
            payload.decode()
        wire: Any = _WIRE_IN_RANGE.decode(payload)
    except msgspec.ValidationError:  # a wrong type, or a value out of range
        try:
            wire = _WIRE.decode(payload)
        except msgspec.DecodeError:  # ValidationError is one
            return decode_checked(payload, ctx)
        return _decoded(wire, _reading_from_wire, ctx)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return decode_checked(payload, ctx)
    return _decoded(wire, _reading_from_wire, ctx, ranges_checked=True)


def decode_checked(payload: bytes, ctx: DecodeContext) -> Decoded:
    """The key-by-key path: the same result as :func:`decode`, and the error it names."""
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise DecodeError("json_syntax", f"not JSON: {exc}") from None
    return _decoded(doc, reading_from_obj, ctx)


def _decoded(
    doc: Any,
    build: Callable[[Any, DecodeContext], Reading],
    ctx: DecodeContext,
    *,
    ranges_checked: bool = False,
) -> Decoded:
    """One reading per object of an array (a store-and-forward batch), or the one object."""
    if type(doc) is list:
        if not doc:
            raise DecodeError("empty_batch", "an empty array carries no readings")
        if len(doc) > _MAX_BATCH:
            raise DecodeError("batch_too_large", f"more than {_MAX_BATCH} readings in one message")
        readings = tuple([build(o, ctx) for o in doc])
    else:
        readings = (build(doc, ctx),)
    group = Group(ID_DEVICE, ctx.topic_device, readings)
    return Decoded("json", (group,), ranges_checked=ranges_checked)
