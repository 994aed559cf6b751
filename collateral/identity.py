"""Asset identities and declared operations: validation and the keys double pledges are found by.

vehicle: ``vin`` (17 characters, no I/O/Q), ``plate``; ship: ``mmsi`` (9 digits),
``imo`` (7 digits with its check digit); farm: ``registry_no``, ``ear_tags``
(list of ``[first, last]`` ranges sharing a prefix, numeric tail); equipment:
``serial`` (manufacturer serial/PIN), ``oem``, ``model``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Final

_VIN: Final = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")
_MMSI: Final = re.compile(r"^[0-9]{9}$")
_IMO: Final = re.compile(r"^(?:IMO)?\s*([0-9]{7})$")
_TAG: Final = re.compile(r"^(.*?)([0-9]+)$")

#: Identity keys each class must have at least one of.
REQUIRED: Final[dict[str, tuple[str, ...]]] = {
    "vehicle": ("vin",),
    "ship": ("mmsi", "imo"),
    "farm": ("registry_no", "ear_tags"),
    "equipment": ("serial",),
}
ALLOWED: Final[dict[str, tuple[str, ...]]] = {
    "vehicle": ("vin", "plate"),
    "ship": ("mmsi", "imo", "call_sign", "name"),
    "farm": ("registry_no", "ear_tags", "species"),
    "equipment": ("serial", "oem", "model"),
}


@dataclass(frozen=True, slots=True, order=True)
class TagRange:
    """An ear-tag range: same prefix, numeric tail ``low``..``high`` inclusive."""

    prefix: str
    low: int
    high: int
    width: int

    def overlaps(self, other: TagRange) -> bool:
        return self.prefix == other.prefix and self.low <= other.high and other.low <= self.high

    def label(self) -> str:
        return f"{self.prefix}{self.low:0{self.width}d}-{self.prefix}{self.high:0{self.width}d}"


def imo_check_ok(digits: str) -> bool:
    """IMO number check digit: sum of the first six digits times 7..2, last digit of it."""
    total = sum(int(d) * w for d, w in zip(digits[:6], range(7, 1, -1), strict=True))
    return total % 10 == int(digits[6])


def parse_tag_range(value: object) -> TagRange:
    """``[first, last]`` (or one tag) -> :class:`TagRange`; ValueError names the problem."""
    if isinstance(value, str):
        value = [value, value]
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
        raise ValueError(f"ear tag range must be [first, last] strings, got {value!r}")
    m1, m2 = _TAG.match(value[0].strip()), _TAG.match(value[1].strip())
    if not m1 or not m2:
        raise ValueError(f"ear tags {value!r} must end in digits")
    if m1.group(1) != m2.group(1) or len(m1.group(2)) != len(m2.group(2)):
        raise ValueError(f"ear tag range {value!r}: first and last differ in prefix or length")
    low, high = int(m1.group(2)), int(m2.group(2))
    if low > high:
        raise ValueError(f"ear tag range {value!r}: first is after last")
    return TagRange(m1.group(1), low, high, len(m1.group(2)))


def normalise_identity(class_: str, identity: object) -> dict[str, Any]:
    """Validated identity block with canonical spellings; ValueError names the problem."""
    if not isinstance(identity, dict):
        raise ValueError("identity must be an object")
    allowed, required = ALLOWED[class_], REQUIRED[class_]
    unknown = sorted(set(identity) - set(allowed))
    if unknown:
        raise ValueError(f"identity key(s) {unknown} not used for class {class_} (use {allowed})")
    if not any(identity.get(k) for k in required):
        raise ValueError(f"identity of a {class_} needs {' or '.join(required)}")
    out: dict[str, Any] = {}
    for key, value in identity.items():
        if key == "ear_tags":
            if not isinstance(value, list) or not value:
                raise ValueError("ear_tags must be a non-empty list of [first, last] ranges")
            ranges = [parse_tag_range(v) for v in value]
            for i, a in enumerate(ranges):
                for b in ranges[i + 1 :]:
                    if a.overlaps(b):
                        raise ValueError(f"ear tag ranges {a.label()} and {b.label()} overlap")
            out[key] = [
                [v, v] if isinstance(v, str) else [v[0].strip(), v[1].strip()] for v in value
            ]
            continue
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"identity.{key} must be a non-empty string")
        v = value.strip()
        if key == "vin":
            v = v.upper()
            if not _VIN.match(v):
                raise ValueError(f"vin {value!r} must be 17 characters A-Z/0-9 without I, O, Q")
        elif key == "mmsi":
            if not _MMSI.match(v):
                raise ValueError(f"mmsi {value!r} must be 9 digits")
        elif key == "imo":
            m = _IMO.match(v.upper())
            if not m:
                raise ValueError(f"imo {value!r} must be 7 digits (optionally prefixed IMO)")
            if not imo_check_ok(m.group(1)):
                raise ValueError(f"imo {value!r} fails its check digit")
            v = m.group(1)
        elif key in ("serial", "registry_no"):
            v = v.upper()
        out[key] = v
    return out


def identity_keys(identity: dict[str, Any]) -> list[str]:
    """Exact-match keys of an identity (``vin:...``, ``mmsi:...``); ear tags are separate."""
    keys = []
    for k in ("vin", "mmsi", "imo", "serial", "registry_no"):
        if identity.get(k):
            keys.append(f"{k}:{identity[k]}")
    return keys


def tag_ranges(identity: dict[str, Any]) -> list[TagRange]:
    """The ear-tag ranges of an identity (empty for non-farm assets)."""
    return [parse_tag_range(v) for v in identity.get("ear_tags", ()) or ()]


def _num(d: dict[str, Any], key: str, low: float, high: float) -> None:
    v = d.get(key)
    if v is None:
        return
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ValueError(f"declared.{key} must be a number")
    if not low <= v <= high:
        raise ValueError(f"declared.{key}={v} out of range {low:g}..{high:g}")


def _int_list(d: dict[str, Any], key: str, low: int, high: int) -> None:
    v = d.get(key)
    if v is None:
        return
    if not isinstance(v, list) or not all(
        isinstance(x, int) and not isinstance(x, bool) and low <= x <= high for x in v
    ):
        raise ValueError(f"declared.{key} must be a list of integers {low}..{high}")


def check_declared(declared: object) -> dict[str, Any]:
    """Validated declared-operations block; ValueError names the problem."""
    if declared is None:
        return {}
    if not isinstance(declared, dict):
        raise ValueError("declared must be an object")
    base = declared.get("base")
    if base is not None:
        if not isinstance(base, dict):
            raise ValueError("declared.base must be an object with lat and lon")
        for k, lim in (("lat", 90.0), ("lon", 180.0)):
            v = base.get(k)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not -lim <= v <= lim:
                raise ValueError(f"declared.base.{k} must be a number within +-{lim:g}")
    _num(declared, "hours_per_day", 0, 24)
    _num(declared, "voyages_per_month", 0, 1000)
    _num(declared, "heads", 0, 10_000_000)
    _num(declared, "power_kw_typical", 0, 1_000_000)
    _int_list(declared, "working_days", 0, 6)
    _int_list(declared, "season_months", 1, 12)
    region = declared.get("region")
    if region is not None and not isinstance(region, str):
        raise ValueError("declared.region must be a string")
    return dict(declared)
