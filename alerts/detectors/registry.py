"""The detector line-up: which streaming and windowed detectors run, in order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from alerts.detectors.base import DeviceContext, Signal
from alerts.detectors.daily import DailySeries
from alerts.detectors.decline import Decline
from alerts.detectors.fabrication import Fabrication
from alerts.detectors.idle import Idle
from alerts.detectors.moved_while_parked import MovedWhileParked
from alerts.detectors.offline import Offline
from alerts.detectors.relocation import Relocation
from alerts.detectors.spoofing import Spoofing
from alerts.detectors.tamper import Tamper
from alerts.detectors.zone_exit import ZoneExit
from telemetry.model import Reading


class StreamingDetector(Protocol):
    kind: str
    state_type: type[Any]

    def initial(self) -> Any: ...

    def step(self, state: Any, r: Reading, ctx: DeviceContext) -> tuple[Any, list[Signal]]: ...

    def step_batch(
        self, state: Any, rs: Sequence[Reading], ts: Sequence[float], ctx: DeviceContext
    ) -> tuple[Any, list[Signal]]:
        """``step`` folded over ``rs`` (event order; ``ts[i]`` is ``rs[i]``'s epoch seconds)."""
        ...


class WindowedDetector(Protocol):
    kind: str

    def evaluate(self, s: DailySeries, ctx: DeviceContext, was_active: bool) -> Signal | None: ...


def streaming_detectors() -> tuple[StreamingDetector, ...]:
    """The streaming detectors with default parameters, in evaluation order."""
    return (ZoneExit(), MovedWhileParked(), Tamper(), Spoofing(), Fabrication())


def windowed_detectors() -> tuple[WindowedDetector, ...]:
    """The windowed detectors with default parameters."""
    return (Offline(), Idle(), Decline(), Relocation())
