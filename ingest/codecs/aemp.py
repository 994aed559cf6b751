"""ISO 15143-3 (AEMP 2.0) fleet and equipment snapshots (topic ``.../aemp``), XML or JSON.

A snapshot lists equipment (``Fleet/Equipment`` or a single ``Equipment``),
each with an ``EquipmentHeader`` (``SerialNumber``, ``PIN``, ``OEMName``,
``Model``) and data elements that each carry their own ``datetime``:
``Location`` (``Latitude``, ``Longitude``, ``Altitude`` + ``AltitudeUnits``),
``CumulativeOperatingHours`` (``Hour``), ``CumulativeIdleHours`` (``Hour``),
``FuelUsed`` (``FuelConsumed`` + ``FuelUnits``), ``EngineStatus`` (``Running``),
``Distance`` (``Odometer`` + ``OdometerUnits``) and ``FuelRemaining``
(``Percent``). Elements sharing a timestamp become one reading, so each value
is stored at the time it was measured. Element names are matched without case
or namespace (OEM feeds differ: ``datetime`` as attribute, child or
``Datetime`` key). XML is parsed with defusedxml: entity expansion and external
references are refused, as the payload comes from outside.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, Final
from xml.etree.ElementTree import Element

import orjson
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from ingest.codecs.base import ID_AEMP, DecodeContext, Decoded, Group
from ingest.codecs.jsonreading import parse_ts
from ingest.errors import DecodeError
from telemetry.model import Reading

MAX_EQUIPMENT: Final = 1000
_FUEL_L: Final = {"litre": 1.0, "liter": 1.0, "l": 1.0, "gallon": 3.785411784, "gal": 3.785411784}
_LENGTH_M: Final = {
    "metre": 1.0,
    "meter": 1.0,
    "m": 1.0,
    "foot": 0.3048,
    "feet": 0.3048,
    "ft": 0.3048,
}
_DIST_KM: Final = {"kilometre": 1.0, "kilometer": 1.0, "km": 1.0, "mile": 1.609344, "mi": 1.609344}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def _xml_to_dict(el: Element) -> dict[str, Any] | str:
    children = list(el)
    if not children and not el.attrib:
        return (el.text or "").strip()
    out: dict[str, Any] = {_local(k): v for k, v in el.attrib.items()}
    for child in children:
        value = _xml_to_dict(child)
        key = _local(child.tag)
        if key == "equipment":
            out.setdefault(key, []).append(value)
        else:
            out[key] = value
    if (el.text or "").strip() and not children:
        out["#text"] = el.text.strip() if el.text else ""
    return out


def _lower(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k).lower(): _lower(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_lower(v) for v in obj]
    return obj


def parse_document(payload: bytes) -> dict[str, Any]:
    """The snapshot as nested dicts with lower-case keys (XML or JSON)."""
    head = payload.lstrip()[:1]
    if head == b"<":
        try:
            root = fromstring(payload)
        except (ParseError, DefusedXmlException, ValueError) as exc:
            raise DecodeError("aemp_xml", f"not well-formed XML: {exc!s:.120}") from None
        doc = _xml_to_dict(root)
        if not isinstance(doc, dict):
            raise DecodeError("aemp_empty", "the XML snapshot is empty")
        return {_local(root.tag): doc}
    try:
        parsed = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise DecodeError("json_syntax", f"neither XML nor JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise DecodeError("not_object", "an ISO 15143-3 snapshot is an object")
    return _lower(parsed)  # type: ignore[no-any-return]


def _equipment(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for root in (doc.get("fleet"), doc):
        if isinstance(root, dict) and "equipment" in root:
            items = root["equipment"]
            items = items if isinstance(items, list) else [items]
            if len(items) > MAX_EQUIPMENT:
                raise DecodeError("aemp_size", f"more than {MAX_EQUIPMENT} equipment entries")
            for item in items:
                if isinstance(item, dict):
                    yield item
            return
    if "equipmentheader" in doc:
        yield doc
        return
    raise DecodeError("aemp_shape", "no Fleet/Equipment or EquipmentHeader in the snapshot")


def _text(section: dict[str, Any], key: str) -> str | None:
    value = section.get(key)
    if isinstance(value, dict):
        value = value.get("#text")
    if value is None or isinstance(value, dict | list):
        return None
    return str(value).strip()


def _num(section: dict[str, Any], key: str, what: str) -> float | None:
    text = _text(section, key)
    if text is None or text == "":
        return None
    try:
        return float(text)
    except ValueError:
        raise DecodeError("bad_field", f"{what}.{key} {text[:30]!r} is not a number") from None


def _unit(section: dict[str, Any], key: str, table: dict[str, float], what: str) -> float:
    text = _text(section, key)
    if not text:
        return 1.0
    factor = table.get(text.lower())
    if factor is None:
        raise DecodeError("aemp_unit", f"{what} unit {text[:30]!r} is not known")
    return factor


def _values(name: str, s: dict[str, Any]) -> dict[str, Any]:
    """Reading fields of one data element (``metrics.*`` keys go to metrics)."""
    if name == "location":
        lat, lon = _num(s, "latitude", "Location"), _num(s, "longitude", "Location")
        out: dict[str, Any] = {"lat": lat, "lon": lon}
        alt = _num(s, "altitude", "Location")
        if alt is not None:
            out["alt_m"] = alt * _unit(s, "altitudeunits", _LENGTH_M, "Altitude")
        return out
    if name == "cumulativeoperatinghours":
        return {"engine_hours": _num(s, "hour", "CumulativeOperatingHours")}
    if name == "cumulativeidlehours":
        return {"metrics.idle_hours": _num(s, "hour", "CumulativeIdleHours")}
    if name == "fuelused":
        used = _num(s, "fuelconsumed", "FuelUsed")
        factor = _unit(s, "fuelunits", _FUEL_L, "FuelUsed")
        return {"metrics.fuel_used_l": None if used is None else used * factor}
    if name == "enginestatus":
        running = (_text(s, "running") or "").lower()
        if running not in ("true", "false", "1", "0"):
            raise DecodeError("bad_field", f"EngineStatus.Running {running[:10]!r} is not boolean")
        return {"engine_on": running in ("true", "1")}
    if name == "distance":
        odo = _num(s, "odometer", "Distance")
        factor = _unit(s, "odometerunits", _DIST_KM, "Distance")
        return {"odometer_km": None if odo is None else odo * factor}
    if name == "fuelremaining":
        return {"fuel_pct": _num(s, "percent", "FuelRemaining")}
    return {}


_SECTIONS: Final = (
    "location",
    "cumulativeoperatinghours",
    "cumulativeidlehours",
    "fuelused",
    "enginestatus",
    "distance",
    "fuelremaining",
)


def _identifier(item: dict[str, Any]) -> str:
    header = item.get("equipmentheader")
    if not isinstance(header, dict):
        raise DecodeError("aemp_header", "equipment without EquipmentHeader")
    ident = _text(header, "serialnumber") or _text(header, "pin")
    if not ident or len(ident) > 64:
        raise DecodeError("aemp_header", "EquipmentHeader has no SerialNumber or PIN")
    return ident


def decode(payload: bytes, ctx: DecodeContext) -> Decoded:
    """Decode a snapshot into one group of readings per equipment serial."""
    doc = parse_document(payload)
    groups: list[Group] = []
    for item in _equipment(doc):
        serial = _identifier(item)
        by_time: dict[datetime, dict[str, Any]] = {}
        for name in _SECTIONS:
            section = item.get(name)
            if not isinstance(section, dict):
                continue
            raw_ts = _text(section, "datetime")
            if raw_ts is None:
                raise DecodeError("missing_ts", f"{name} has no datetime")
            values = {k: v for k, v in _values(name, section).items() if v is not None}
            if values:
                by_time.setdefault(parse_ts(raw_ts), {}).update(values)
        readings = tuple(
            _reading(serial, ts, values, ctx) for ts, values in sorted(by_time.items())
        )
        groups.append(Group(ID_AEMP, serial, readings))
    return Decoded("aemp", tuple(groups), topic_bound=False)


def _reading(serial: str, ts: datetime, values: dict[str, Any], ctx: DecodeContext) -> Reading:
    metrics = {k[8:]: v for k, v in values.items() if k.startswith("metrics.")}
    fields = {k: v for k, v in values.items() if not k.startswith("metrics.")}
    received = ctx.received_at
    return Reading(
        serial,
        ts,
        metrics=metrics,
        received_at=received,
        late=received - ts > ctx.late_after,
        source="aemp",
        topic=ctx.topic,
        message_id=ctx.message_id,
        **fields,
    )
