"""``double_pledge``: one asset identity in two active pledges, or one terminal on two assets.

Works on registry rows (no telemetry): two *different* asset records that
share an identity key (VIN, plate, MMSI, IMO, farm registry number, equipment
serial, or overlapping ear-tag ranges) and are each pledged under an active
pledge; or a terminal with two overlapping active bindings. Each conflicting
asset gets a signal; the condition ends when the conflict is gone from the
registry.

Level: identity in two active pledges → red (the same collateral backs two
loans); terminal bound to two assets → orange.

Example::

    >>> find_conflicts([AssetIdentity("A1", {"vin": "X"}), AssetIdentity("A2", {"vin": "X"})],
    ...                pledged={"A1", "A2"}, bindings=[], now=now)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from alerts.detectors.base import Level, Signal

KIND = "double_pledge"
_KEYS: Final = ("vin", "plate", "mmsi", "imo", "registry_no", "serial")


@dataclass(frozen=True, slots=True)
class AssetIdentity:
    asset_id: str
    identity: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ActiveBinding:
    device_id: str
    asset_id: str
    valid_from: datetime


def _norm(value: Any) -> str:
    return "".join(str(value).split()).upper()


def _tag_ranges(identity: Mapping[str, Any]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for item in identity.get("ear_tags") or ():
        try:
            lo, hi = int(item[0]), int(item[1])
        except (TypeError, ValueError, IndexError):
            continue  # malformed ranges are the registry's validation problem
        out.append((min(lo, hi), max(lo, hi)))
    return out


def find_conflicts(
    assets: Sequence[AssetIdentity],
    *,
    pledged: set[str],
    bindings: Iterable[ActiveBinding],
    now: datetime,
) -> list[Signal]:
    """Active-conflict signals, one per (asset, conflict), for the given registry rows."""
    partners: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    by_key: dict[tuple[str, str], list[str]] = defaultdict(list)
    live = [a for a in assets if a.asset_id in pledged]
    for a in live:
        for key in _KEYS:
            if a.identity.get(key):
                by_key[(key, _norm(a.identity[key]))].append(a.asset_id)
    for (key, value), ids in by_key.items():
        if len(set(ids)) > 1:
            for aid in ids:
                partners[aid][f"{key}={value}"].extend(x for x in ids if x != aid)
    ranges = [(a.asset_id, r) for a in live for r in _tag_ranges(a.identity)]
    ranges.sort(key=lambda x: x[1][0])
    for i, (aid, (lo, hi)) in enumerate(ranges):
        for bid, (lo2, _hi2) in ranges[i + 1 :]:
            if lo2 > hi:
                break
            if bid != aid:
                partners[aid][f"ear_tags={lo}-{hi}"].append(bid)
                partners[bid][f"ear_tags={lo}-{hi}"].append(aid)
    signals: list[Signal] = []
    for aid, why in sorted(partners.items()):
        signals.append(
            Signal(
                kind=KIND, device_id="", asset_id=aid, ts=now, active=True, level=Level.RED,
                magnitude=float(len(why)),
                evidence={"shared_identity": {k: sorted(set(v)) for k, v in why.items()},
                          "thresholds": {"identity_keys": [*_KEYS, "ear_tags"]}},
            )
        )  # fmt: skip
    per_device: dict[str, list[ActiveBinding]] = defaultdict(list)
    for b in bindings:
        per_device[b.device_id].append(b)
    for device_id, bs in sorted(per_device.items()):
        assets_bound = sorted({b.asset_id for b in bs})
        if len(assets_bound) < 2:
            continue
        for aid in assets_bound:
            if aid in partners:
                continue
            signals.append(
                Signal(
                    kind=KIND, device_id=device_id, asset_id=aid, ts=now, active=True,
                    level=Level.ORANGE, magnitude=float(len(assets_bound)),
                    evidence={"terminal_bound_to": assets_bound,
                              "thresholds": {"max_assets_per_terminal": 1}},
                )
            )  # fmt: skip
    return signals
