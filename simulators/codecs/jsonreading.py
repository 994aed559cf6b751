"""The JSON reading of the interface contract (``assetwatch/{device_id}/telemetry``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from simulators.fixes import Fix
from simulators.timebase import rfc3339

_FIELDS = (
    "lat", "lon", "alt_m", "speed_kmh", "heading_deg", "hdop", "sats", "ignition", "engine_on",
    "engine_hours", "odometer_km", "fuel_pct", "battery_v", "ext_power", "tamper",
)  # fmt: skip


def reading_dict(fix: Fix) -> dict[str, Any]:
    """The reading as a JSON-ready dict: ``ts`` and ``seq`` first, unset fields left out."""
    out: dict[str, Any] = {"ts": rfc3339(fix.t), "seq": fix.seq}
    for name in _FIELDS:
        value = getattr(fix, name)
        if value is not None:
            out[name] = value
    if fix.metrics:
        out["metrics"] = fix.metrics
    return out


def _value(v: object) -> str:
    if v is True:
        return "true"
    if v is False:
        return "false"
    return repr(v)  # ints and finite floats: repr is valid JSON


def json_reading(fix: Fix) -> bytes:
    """Same bytes as ``json.dumps(reading_dict(fix), separators=(",", ":"))``, built directly.

    This is the simulator's hottest path; values are ints, bools and finite floats.
    """
    parts = [f'{{"ts":"{rfc3339(fix.t)}","seq":{fix.seq}']
    for name in _FIELDS:
        value = getattr(fix, name)
        if value is not None:
            parts.append(f'"{name}":{_value(value)}')
    if fix.metrics:
        inner = ",".join(f'"{k}":{_value(v)}' for k, v in fix.metrics.items())
        parts.append(f'"metrics":{{{inner}}}')
    return (",".join(parts) + "}").encode()


def json_batch(fixes: Sequence[Fix]) -> bytes:
    """A store-and-forward batch: a JSON array of readings."""
    return json.dumps([reading_dict(f) for f in fixes], separators=(",", ":")).encode()
