"""ChirpStack v4 uplink events (``application/{app_id}/device/{dev_eui}/event/up``).

The JSON mirrors ChirpStack v4's integration event: ``deduplicationId``,
``time``, ``deviceInfo`` (with ``devEui`` and ``deviceProfileName``),
``fCnt``, ``fPort``, base64 ``data``, the codec-decoded ``object``, and
``rxInfo``/``txInfo``. The ``object`` keys are the device profile's own names
(``latitude``, ``act``, ``temp``, ``level``, ``kw`` ...); the registry's
device-profile mapping (:data:`PROFILES`) tells the ingest how they map to a
reading.
"""

from __future__ import annotations

import base64
import json
import struct
import uuid
from typing import Any, Final

from simulators.fixes import Fix
from simulators.timebase import rfc3339

APPLICATION_ID: Final = "6f5c3c1e-5a4b-4d8e-9a37-0c8e1f2a9b10"

#: device profile name -> reading field -> key of the decoded ``object``.
PROFILES: Final[dict[str, dict[str, str]]] = {
    "collar-v1": {
        "lat": "latitude",
        "lon": "longitude",
        "hdop": "hdop",
        "battery_v": "batt",
        "metrics.activity": "act",
        "metrics.body_temp_c": "temp",
        "tamper": "tamper",
    },
    "silo-v1": {"battery_v": "batt", "metrics.silo_level_pct": "level", "tamper": "tamper"},
    "power-v1": {
        "metrics.power_kw": "kw",
        "metrics.energy_kwh": "kwh",
        "ext_power": "mains",
        "tamper": "tamper",
    },
}


def _object(fix: Fix, profile: str) -> dict[str, Any]:
    mapping = PROFILES[profile]
    obj: dict[str, Any] = {}
    for field, key in mapping.items():
        if field.startswith("metrics."):
            value = fix.metrics.get(field.removeprefix("metrics."))
        else:
            value = getattr(fix, field)
        if value is not None:
            obj[key] = value
    return obj


def topic_for(dev_eui: str) -> str:
    return f"application/{APPLICATION_ID}/device/{dev_eui}/event/up"


def chirpstack_uplink(
    fix: Fix, *, dev_eui: str, profile: str, device_name: str, f_cnt: int
) -> bytes:
    """One uplink event; ``data`` holds the raw frame the device codec decoded into ``object``."""
    obj = _object(fix, profile)
    raw = (
        struct.pack(">I", int(fix.t))
        + json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()
    )
    dedup = uuid.UUID(int=(int(dev_eui, 16) << 64) | (f_cnt & 0xFFFFFFFFFFFFFFFF))
    event = {
        "deduplicationId": str(dedup),
        "time": rfc3339(fix.t),
        "deviceInfo": {
            "tenantId": "52f14cd4-c6f1-4fbd-8f87-4025e1d49242",
            "tenantName": "assetwatch",
            "applicationId": APPLICATION_ID,
            "applicationName": "collateral-farms",
            "deviceProfileId": str(uuid.uuid5(uuid.NAMESPACE_DNS, profile)),
            "deviceProfileName": profile,
            "deviceName": device_name,
            "devEui": dev_eui,
            "deviceClassEnabled": "CLASS_A",
            "tags": {},
        },
        "devAddr": dev_eui[-8:],
        "adr": True,
        "dr": 5,
        "fCnt": f_cnt,
        "fPort": 2,
        "confirmed": False,
        "data": base64.b64encode(raw).decode(),
        "object": obj,
        "rxInfo": [
            {
                "gatewayId": "a840411f00000001",
                "uplinkId": f_cnt & 0xFFFF,
                "gwTime": rfc3339(fix.t),
                "rssi": -95,
                "snr": 7.5,
                "context": "AAAAAA==",
                "metadata": {},
                "crcStatus": "CRC_OK",
            }
        ],
        "txInfo": {
            "frequency": 470300000,
            "modulation": {
                "lora": {"bandwidth": 125000, "spreadingFactor": 7, "codeRate": "CR_4_5"}
            },
        },
    }
    return json.dumps(event, separators=(",", ":")).encode()
