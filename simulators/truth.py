"""The ground-truth values: incidents, the registry rows they imply, the plan.

An :class:`Incident` is one scripted occurrence with its public parameters;
:meth:`Incident.truth` is its line in the ``--truth`` file (format in the
common notes: device, asset, kind, start, end, params).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from simulators.portfolio import Asset
from simulators.timebase import rfc3339


@dataclass(frozen=True, slots=True)
class Incident:
    """One scripted incident; ``params`` are public and go into the truth line."""

    kind: str
    mode: str
    asset_id: str
    device_id: str
    start: float
    end: float | None
    params: Mapping[str, Any]
    expect_alert: bool = True

    def truth(self) -> dict[str, Any]:
        """The ground-truth object (one JSON line of ``--truth``)."""
        return {
            "device_id": self.device_id,
            "asset_id": self.asset_id,
            "kind": self.kind,
            "start": rfc3339(self.start),
            "end": None if self.end is None else rfc3339(self.end),
            "params": {"mode": self.mode, "expect_alert": self.expect_alert, **self.params},
        }

    def truth_line(self) -> str:
        return json.dumps(self.truth(), ensure_ascii=False, sort_keys=True)

    def active(self, t: float) -> bool:
        return self.start <= t and (self.end is None or t < self.end)


@dataclass(frozen=True, slots=True)
class RegistryExtras:
    """Registry rows that express incidents rather than fleet: double pledges."""

    assets: tuple[Asset, ...] = ()
    bindings: tuple[tuple[str, str, float, str], ...] = ()  # device, asset, from, why
    pledges: tuple[tuple[str, str, float, str], ...] = ()  # asset, loan, from, why
    loans: tuple[tuple[str, str], ...] = ()  # new loan id, borrower id


@dataclass(frozen=True, slots=True)
class IncidentPlan:
    """Everything :func:`plan_incidents` decided: incidents (incl. companions) and registry rows."""

    incidents: tuple[Incident, ...]
    extras: RegistryExtras = field(default_factory=RegistryExtras)

    def truth_lines(self) -> list[str]:
        return [i.truth_line() for i in sorted(self.incidents, key=_order)]


def _order(i: Incident) -> tuple[float, str, str]:
    return (i.start, i.asset_id, i.kind)


def by_device(incidents: Sequence[Incident]) -> dict[str, list[Incident]]:
    out: dict[str, list[Incident]] = {}
    for i in incidents:
        out.setdefault(i.device_id, []).append(i)
    return out
