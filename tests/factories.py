"""Factories for test data (preferred over mocks)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from telemetry.model import Reading

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def make_reading(**kw: Any) -> Reading:
    """A plausible parked-truck reading; override any field by keyword."""
    base: dict[str, Any] = {
        "device_id": "dev-1",
        "ts": T0,
        "seq": 1,
        "lat": 31.2304,
        "lon": 121.4737,
        "speed_kmh": 0.0,
        "hdop": 0.9,
        "sats": 11,
        "ignition": False,
        "engine_hours": 1200.0,
        "odometer_km": 50_000.0,
        "battery_v": 12.6,
        "ext_power": True,
    }
    base.update(kw)
    return Reading(**base)
