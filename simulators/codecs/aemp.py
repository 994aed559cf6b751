"""ISO 15143-3 (AEMP 2.0) equipment snapshots, XML or JSON (``assetwatch/{device_id}/aemp``).

A snapshot is a ``Fleet`` holding one ``Equipment`` with its
``EquipmentHeader`` (OEM, model, equipment id, serial number) and the data
elements the standard defines, each with its own ``datetime``: ``Location``,
``CumulativeOperatingHours``, ``CumulativeIdleHours``, ``FuelUsed``,
``FuelRemaining`` and ``EngineStatus``. Element names follow the standard's
schema; the XML namespace is the 2019 edition's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from xml.sax.saxutils import escape

from simulators.fixes import Fix
from simulators.timebase import rfc3339

NAMESPACE = "http://standards.iso.org/iso/15143/-3"


def _header(identity: Mapping[str, object], equipment_id: str) -> dict[str, str]:
    serial = str(identity.get("serial", equipment_id))
    return {
        "OEMName": str(identity.get("oem", "")),
        "Model": str(identity.get("model", "")),
        "EquipmentID": equipment_id,
        "SerialNumber": serial,
        "PIN": serial,
    }


def aemp_json(fix: Fix, identity: Mapping[str, object], equipment_id: str) -> bytes:
    ts = rfc3339(fix.t)
    eq: dict[str, object] = {"EquipmentHeader": _header(identity, equipment_id)}
    if fix.lat is not None and fix.lon is not None:
        eq["Location"] = {
            "datetime": ts,
            "Latitude": fix.lat,
            "Longitude": fix.lon,
            "Altitude": fix.alt_m,
            "AltitudeUnits": "metre",
        }
    if fix.engine_hours is not None:
        eq["CumulativeOperatingHours"] = {"datetime": ts, "Hour": fix.engine_hours}
    m = fix.metrics
    if "idle_hours" in m:
        eq["CumulativeIdleHours"] = {"datetime": ts, "Hour": m["idle_hours"]}
    if "fuel_used_l" in m:
        eq["FuelUsed"] = {"datetime": ts, "FuelUnits": "litre", "FuelConsumed": m["fuel_used_l"]}
    if fix.fuel_pct is not None:
        eq["FuelRemaining"] = {"datetime": ts, "Percent": fix.fuel_pct}
    if fix.engine_on is not None:
        eq["EngineStatus"] = {"datetime": ts, "Running": fix.engine_on}
    doc = {"Fleet": {"version": "20190501", "snapshotTime": ts, "Links": [], "Equipment": [eq]}}
    return json.dumps(doc, separators=(",", ":")).encode()


def aemp_xml(fix: Fix, identity: Mapping[str, object], equipment_id: str) -> bytes:
    ts = rfc3339(fix.t)
    parts = [
        f'<?xml version="1.0" encoding="UTF-8"?><Fleet xmlns="{NAMESPACE}" version="20190501" '
        f'snapshotTime="{ts}"><Equipment><EquipmentHeader>'
    ]
    parts += [f"<{k}>{escape(v)}</{k}>" for k, v in _header(identity, equipment_id).items()]
    parts.append("</EquipmentHeader>")
    if fix.lat is not None and fix.lon is not None:
        parts.append(
            f'<Location datetime="{ts}"><Latitude>{fix.lat}</Latitude>'
            f"<Longitude>{fix.lon}</Longitude><Altitude>{fix.alt_m or 0}</Altitude>"
            "<AltitudeUnits>metre</AltitudeUnits></Location>"
        )
    if fix.engine_hours is not None:
        parts.append(
            f'<CumulativeOperatingHours datetime="{ts}"><Hour>{fix.engine_hours}</Hour>'
            "</CumulativeOperatingHours>"
        )
    m = fix.metrics
    if "idle_hours" in m:
        parts.append(
            f'<CumulativeIdleHours datetime="{ts}"><Hour>{m["idle_hours"]}</Hour>'
            "</CumulativeIdleHours>"
        )
    if "fuel_used_l" in m:
        parts.append(
            f'<FuelUsed datetime="{ts}"><FuelUnits>litre</FuelUnits>'
            f"<FuelConsumed>{m['fuel_used_l']}</FuelConsumed></FuelUsed>"
        )
    if fix.fuel_pct is not None:
        parts.append(
            f'<FuelRemaining datetime="{ts}"><Percent>{fix.fuel_pct}</Percent></FuelRemaining>'
        )
    if fix.engine_on is not None:
        parts.append(
            f'<EngineStatus datetime="{ts}"><Running>{"true" if fix.engine_on else "false"}'
            "</Running></EngineStatus>"
        )
    parts.append("</Equipment></Fleet>")
    return "".join(parts).encode()
