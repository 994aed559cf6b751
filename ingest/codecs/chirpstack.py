"""LoRaWAN uplinks from ChirpStack v4 (topic ``application/{app_id}/device/{dev_eui}/event/up``).

The uplink event is JSON (ChirpStack's MQTT integration with ``json`` encoding):
``deviceInfo.devEui`` identifies the terminal, ``time`` is the gateway receive
time (the event time; absent on some setups, then the ingest receive time),
``object`` is the payload decoded by the device profile's codec, ``rxInfo`` the
gateways that heard it. ``object`` is mapped to a reading through the terminal's
device profile mapping (``device_profiles.mapping``): keys are reading fields
(``lat``, ``battery_v`` ...) or ``metrics.<name>``, values are dotted paths into
``object``. A terminal without a profile gets the identity mapping on the
reading's own field names. The best gateway RSSI and SNR become metrics.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import orjson

from ingest.codecs.base import ID_DEV_EUI, DecodeContext, Decoded, Group
from ingest.codecs.jsonreading import parse_ts
from ingest.errors import DecodeError
from telemetry.model import Reading

_NUMERIC: Final = frozenset(
    {
        "lat",
        "lon",
        "alt_m",
        "speed_kmh",
        "heading_deg",
        "hdop",
        "engine_hours",
        "odometer_km",
        "fuel_pct",
        "battery_v",
    }
)
_INTEGER: Final = frozenset({"seq", "sats"})
_BOOLEAN: Final = frozenset({"ignition", "engine_on", "ext_power", "tamper"})
IDENTITY_MAPPING: Final[Mapping[str, str]] = {name: name for name in _NUMERIC | _INTEGER | _BOOLEAN}


def _lookup(obj: object, path: str) -> object:
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def apply_mapping(obj: Mapping[str, Any], mapping: Mapping[str, Any]) -> dict[str, Any]:
    """Reading keyword arguments from a decoded ``object`` and a profile mapping."""
    kw: dict[str, Any] = {}
    metrics: dict[str, float] = {}
    for target, path in mapping.items():
        if not isinstance(path, str):
            raise DecodeError("profile", f"mapping for {target!r} must be a path string")
        value = _lookup(obj, path)
        if value is None:
            continue
        is_num = isinstance(value, int | float) and not isinstance(value, bool)
        num = float(value) if is_num else 0.0  # type: ignore[arg-type]
        if target.startswith("metrics."):
            if not is_num:
                raise DecodeError("bad_field", f"object.{path} must be a number for {target}")
            metrics[target[8:]] = num
        elif target in _NUMERIC:
            if not is_num:
                raise DecodeError("bad_field", f"object.{path} must be a number for {target}")
            kw[target] = num
        elif target in _INTEGER:
            if not isinstance(value, int) or isinstance(value, bool):
                raise DecodeError("bad_field", f"object.{path} must be an integer for {target}")
            kw[target] = value
        elif target in _BOOLEAN:
            if isinstance(value, bool):
                kw[target] = value
            elif value in (0, 1):
                kw[target] = bool(value)
            else:
                raise DecodeError("bad_field", f"object.{path} must be a boolean for {target}")
        elif target != "ts":
            raise DecodeError("profile", f"mapping target {target!r} is not a reading field")
    if metrics:
        kw["metrics"] = metrics
    return kw


def _radio(rx: object) -> dict[str, float]:
    if not isinstance(rx, list):
        return {}
    rssi = [g["rssi"] for g in rx if isinstance(g, dict) and type(g.get("rssi")) in (int, float)]
    snr = [g["snr"] for g in rx if isinstance(g, dict) and type(g.get("snr")) in (int, float)]
    out: dict[str, float] = {}
    if rssi:
        out["rssi"] = float(max(rssi))
    if snr:
        out["snr"] = float(max(snr))
    return out


def decode(payload: bytes, ctx: DecodeContext) -> Decoded:
    """Decode one uplink event; the profile comes from ``ctx.profile_for``."""
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise DecodeError("json_syntax", f"not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise DecodeError("not_object", "an uplink event is a JSON object")
    info = doc.get("deviceInfo")
    eui = info.get("devEui") if isinstance(info, dict) else None
    if not isinstance(eui, str) or len(eui) != 16:
        raise DecodeError("lorawan_deveui", "deviceInfo.devEui (16 hex digits) is required")
    eui = eui.lower()
    try:
        int(eui, 16)
    except ValueError:
        raise DecodeError("lorawan_deveui", f"devEui {eui!r} is not hex") from None
    if ctx.topic_device.lower() != eui:
        raise DecodeError("device_mismatch", f"devEui {eui} does not match the topic's")
    obj = doc.get("object")
    if obj is None:
        return Decoded("lorawan", (Group(ID_DEV_EUI, eui, ()),), topic_bound=False)
    if not isinstance(obj, dict):
        raise DecodeError("not_object", "object must be a JSON object")
    mapping = ctx.profile_for(eui) if ctx.profile_for is not None else None
    if mapping is None:  # unknown terminal: the identify stage quarantines the message
        return Decoded("lorawan", (Group(ID_DEV_EUI, eui, ()),), topic_bound=False)
    mapping = mapping or IDENTITY_MAPPING
    ts_path = mapping.get("ts")
    raw_ts = _lookup(obj, ts_path) if isinstance(ts_path, str) else doc.get("time")
    ts = parse_ts(raw_ts) if raw_ts is not None else ctx.received_at
    kw = apply_mapping(obj, mapping)
    radio = _radio(doc.get("rxInfo"))
    if radio:
        kw["metrics"] = {**kw.get("metrics", {}), **radio}
    fcnt = doc.get("fCnt")
    if "seq" not in kw and isinstance(fcnt, int) and not isinstance(fcnt, bool):
        kw["seq"] = fcnt
    received = ctx.received_at
    reading = Reading(
        eui,
        ts,
        received_at=received,
        late=received - ts > ctx.late_after,
        source="lorawan",
        topic=ctx.topic,
        message_id=str(doc.get("deduplicationId") or ctx.message_id)[:64],
        **kw,
    )
    return Decoded("lorawan", (Group(ID_DEV_EUI, eui, (reading,)),), topic_bound=False)
