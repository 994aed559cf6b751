"""Post-loan detectors: streaming (per reading) and windowed (over hourly rollups)."""

from __future__ import annotations

from alerts.detectors.base import DeviceContext, Level, Signal, ZoneSpec
from alerts.detectors.decline import Decline, DeclineParams
from alerts.detectors.fabrication import Fabrication, FabricationParams
from alerts.detectors.idle import Idle, IdleParams
from alerts.detectors.moved_while_parked import MovedWhileParked, MovedWhileParkedParams
from alerts.detectors.offline import Offline, OfflineParams
from alerts.detectors.relocation import Relocation, RelocationParams
from alerts.detectors.spoofing import Spoofing, SpoofingParams
from alerts.detectors.tamper import Tamper, TamperParams
from alerts.detectors.zone_exit import ZoneExit, ZoneExitParams

#: Every detector kind of the product brief.
KINDS = (
    "zone_exit", "relocation", "moved_while_parked", "idle", "decline",
    "offline", "tamper", "spoofing", "fabrication", "double_pledge",
)  # fmt: skip

__all__ = [
    "KINDS",
    "Decline",
    "DeclineParams",
    "DeviceContext",
    "Fabrication",
    "FabricationParams",
    "Idle",
    "IdleParams",
    "Level",
    "MovedWhileParked",
    "MovedWhileParkedParams",
    "Offline",
    "OfflineParams",
    "Relocation",
    "RelocationParams",
    "Signal",
    "Spoofing",
    "SpoofingParams",
    "Tamper",
    "TamperParams",
    "ZoneExit",
    "ZoneExitParams",
    "ZoneSpec",
]
