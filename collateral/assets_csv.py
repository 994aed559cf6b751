"""Assets from CSV: one asset per row, problems reported by line, nothing applied on any.

Columns (header row; unknown columns are refused): ``id, borrower_id, class,
name, stationary``; identity ``vin, plate, mmsi, imo, registry_no, ear_tags,
serial, oem, model`` (``ear_tags`` as ``FIRST..LAST;FIRST..LAST``); declared
``base_name, base_lat, base_lon, region, hours_per_day, working_days,
season_months, voyages_per_month, heads, power_kw_typical`` (lists as ``0;1;2``).
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any, Final

from collateral.elements import ElementError, asset, drop_none
from collateral.errors import Problem, RegistryError
from collateral.model import (
    Asset,
)

CSV_COLUMNS: Final = (
    "id",
    "borrower_id",
    "class",
    "name",
    "stationary",
    "vin",
    "plate",
    "mmsi",
    "imo",
    "registry_no",
    "ear_tags",
    "serial",
    "oem",
    "model",
    "base_name",
    "base_lat",
    "base_lon",
    "region",
    "hours_per_day",
    "working_days",
    "season_months",
    "voyages_per_month",
    "heads",
    "power_kw_typical",
)
_IDENTITY_COLS: Final = ("vin", "plate", "mmsi", "imo", "registry_no", "serial", "oem", "model")


def _csv_number(row: dict[str, str], key: str) -> float | int | None:
    raw = (row.get(key) or "").strip()
    if not raw:
        return None
    try:
        v = float(raw)
    except ValueError as exc:
        raise ElementError(f"{key} {raw!r} is not a number") from exc
    return int(v) if v.is_integer() and key not in ("base_lat", "base_lon") else v


def _csv_ints(row: dict[str, str], key: str) -> list[int] | None:
    raw = (row.get(key) or "").strip()
    if not raw:
        return None
    try:
        return [int(x) for x in re.split(r"[;\s,]+", raw) if x]
    except ValueError as exc:
        raise ElementError(f"{key} {raw!r} must be integers separated by ';'") from exc


def _csv_asset(row: dict[str, str]) -> Asset:
    identity: dict[str, Any] = {
        k: row[k].strip() for k in _IDENTITY_COLS if (row.get(k) or "").strip()
    }
    tags = (row.get("ear_tags") or "").strip()
    if tags:
        ranges = []
        for part in tags.split(";"):
            first, _, last = part.strip().partition("..")
            ranges.append([first.strip(), (last or first).strip()])
        identity["ear_tags"] = ranges
    declared: dict[str, Any] = {}
    lat, lon = _csv_number(row, "base_lat"), _csv_number(row, "base_lon")
    if (lat is None) != (lon is None):
        raise ElementError("base_lat and base_lon come together")
    if lat is not None and lon is not None:
        declared["base"] = drop_none(
            {
                "name": (row.get("base_name") or "").strip() or None,
                "lat": float(lat),
                "lon": float(lon),
            }
        )
    if (row.get("region") or "").strip():
        declared["region"] = row["region"].strip()
    for key in ("hours_per_day", "voyages_per_month", "heads", "power_kw_typical"):
        v = _csv_number(row, key)
        if v is not None:
            declared[key] = v
    for key in ("working_days", "season_months"):
        ints = _csv_ints(row, key)
        if ints is not None:
            declared[key] = ints
    stationary = (row.get("stationary") or "").strip().lower()
    if stationary not in ("", "true", "false", "1", "0", "yes", "no"):
        raise ElementError(f"stationary {row['stationary']!r} must be true or false")
    return asset(
        {
            "id": row.get("id") or None,
            "borrower_id": row.get("borrower_id") or None,
            "class": row.get("class") or None,
            "name": row.get("name") or None,
            "identity": identity,
            "declared": declared,
            "stationary": stationary in ("true", "1", "yes"),
        }
    )


def load_assets_csv(text: str) -> tuple[Asset, ...]:
    """Assets from CSV (header row with :data:`CSV_COLUMNS`); problems reported by line."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = reader.fieldnames or []
    problems: list[Problem] = []
    missing = [c for c in ("id", "borrower_id", "class", "name") if c not in header]
    unknown = [c for c in header if c not in CSV_COLUMNS]
    if missing or unknown:
        detail = "; ".join(
            x
            for x in (
                f"missing column(s) {missing}" if missing else "",
                f"unknown column(s) {unknown}" if unknown else "",
            )
            if x
        )
        raise RegistryError("assets CSV refused, nothing applied", (Problem("line 1", detail),))
    out: list[Asset] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if None in row:
            problems.append(Problem(f"line {line}", "more fields than columns"))
            continue
        try:
            a = _csv_asset(row)
        except ElementError as exc:
            problems.append(Problem(f"line {line}", str(exc)))
            continue
        if a.id in seen:
            problems.append(Problem(f"line {line}", f"id {a.id} already on line {seen[a.id]}"))
        seen[a.id] = line
        out.append(a)
    if problems:
        raise RegistryError(
            f"assets CSV refused: {len(problems)} problem(s), nothing applied", tuple(problems)
        )
    return tuple(out)
