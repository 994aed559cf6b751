"""The registry file (``assetwatch-registry/1``) and the assets CSV: parse, validate, write.

Parsing collects every problem with where it is -- ``assets[3] (A004)`` in JSON,
``line 7`` in CSV -- and raises one :class:`RegistryError` listing them all, so a
file is either wholly valid or nothing of it is applied. Cross-references are
checked later against the document plus the database (see ``registry.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from collateral.assets_csv import load_assets_csv
from collateral.elements import (
    ElementError,
    asset,
    binding,
    borrower,
    device_profile,
    drop_none,
    loan,
    pledge,
    terminal,
    zone_record,
)
from collateral.errors import GeoJSONError, Problem, RegistryError
from collateral.geojson import parse_zone_geometry, zone_base_point
from collateral.model import (
    FORMAT,
    RegistryDocument,
)

SECTIONS: Final[tuple[tuple[str, Callable[[dict[str, Any]], Any], str], ...]] = (
    ("borrowers", borrower, "id"),
    ("loans", loan, "id"),
    ("device_profiles", device_profile, "name"),
    ("assets", asset, "id"),
    ("terminals", terminal, "device_id"),
    ("bindings", binding, "device_id"),
    ("pledges", pledge, "asset_id"),
    ("zones", zone_record, "id"),
)


def parse_document(doc: object) -> RegistryDocument:
    """Validate a decoded registry document; raise :class:`RegistryError` listing every problem."""
    problems: list[Problem] = []
    if not isinstance(doc, dict):
        raise RegistryError("registry file must hold one JSON object")
    if doc.get("format") != FORMAT:
        problems.append(Problem("format", f"must be {FORMAT!r}, got {doc.get('format')!r}"))
    unknown = sorted(set(doc) - {"format", *(s[0] for s in SECTIONS)})
    if unknown:
        problems.append(Problem("(top level)", f"unknown section(s) {unknown}"))
    parsed: dict[str, list[Any]] = {}
    for section, fn, key in SECTIONS:
        items = doc.get(section, [])
        parsed[section] = []
        if not isinstance(items, list):
            problems.append(Problem(section, "must be a list"))
            continue
        for i, item in enumerate(items):
            where = f"{section}[{i}]"
            if not isinstance(item, dict):
                problems.append(Problem(where, "must be an object"))
                continue
            if isinstance(item.get(key), str):
                where += f" ({item[key]})"
            try:
                parsed[section].append(fn(item))
            except ElementError as exc:
                problems.append(Problem(where, str(exc)))
    problems += _duplicates(parsed)
    problems += _zone_problems(parsed)
    if problems:
        raise RegistryError(
            f"registry file refused: {len(problems)} problem(s), nothing applied", tuple(problems)
        )
    return RegistryDocument(**{k: tuple(v) for k, v in parsed.items()})


def _duplicates(parsed: dict[str, list[Any]]) -> list[Problem]:
    out: list[Problem] = []
    for section, attr in (
        ("borrowers", "id"),
        ("loans", "id"),
        ("assets", "id"),
        ("terminals", "device_id"),
        ("zones", "id"),
        ("device_profiles", "name"),
    ):
        seen: set[str] = set()
        for i, item in enumerate(parsed[section]):
            v = getattr(item, attr)
            if v in seen:
                out.append(Problem(f"{section}[{i}] ({v})", f"{attr} {v!r} appears twice"))
            seen.add(v)
    for field in ("jt808_phone", "mmsi", "dev_eui", "aemp_serial"):
        owner: dict[str, str] = {}
        for t in parsed["terminals"]:
            v = getattr(t, field)
            if v is None:
                continue
            if v in owner:
                out.append(
                    Problem(
                        f"terminals ({t.device_id})",
                        f"{field} {v} already belongs to terminal {owner[v]}",
                    )
                )
            owner[v] = t.device_id
    return out


def _zone_problems(parsed: dict[str, list[Any]]) -> list[Problem]:
    bases = {a.id: zone_base_point(a.declared) for a in parsed["assets"]}
    out: list[Problem] = []
    for i, z in enumerate(parsed["zones"]):
        try:
            parse_zone_geometry(z.geometry, base=bases.get(z.asset_id))
        except GeoJSONError as exc:
            out.append(Problem(f"zones[{i}] ({z.id}) geometry", str(exc)))
    return out


def load_json(text: str) -> RegistryDocument:
    """Parse the text of a registry file."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RegistryError(
            "registry file is not JSON",
            (Problem(f"line {exc.lineno} column {exc.colno}", exc.msg),),
        ) from exc
    return parse_document(doc)


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _amount(a: Decimal | None) -> int | float | None:
    if a is None:
        return None
    return int(a) if a == a.to_integral_value() else float(a)


def to_document(doc: RegistryDocument) -> dict[str, Any]:
    """The JSON-ready registry file of ``doc`` (what ``registry export`` writes)."""
    return {
        "format": FORMAT,
        "borrowers": [
            drop_none(
                {
                    "id": b.id,
                    "name": b.name,
                    "industry": b.industry,
                    "region": b.region,
                    "officer": b.officer,
                }
            )
            for b in doc.borrowers
        ],
        "loans": [
            drop_none(
                {
                    "id": x.id,
                    "borrower_id": x.borrower_id,
                    "amount": _amount(x.amount),
                    "currency": x.currency,
                    "product": x.product,
                    "start": x.start_date.isoformat() if x.start_date else None,
                    "end": x.end_date.isoformat() if x.end_date else None,
                    "status": x.status,
                }
            )
            for x in doc.loans
        ],
        "device_profiles": [{"name": p.name, "mapping": p.mapping} for p in doc.device_profiles],
        "assets": [
            {
                "id": a.id,
                "borrower_id": a.borrower_id,
                "class": a.class_,
                "name": a.name,
                "identity": a.identity,
                "declared": a.declared,
                "stationary": a.stationary,
            }
            for a in doc.assets
        ],
        "terminals": [
            drop_none(
                {
                    "device_id": t.device_id,
                    "protocol": t.protocol,
                    "jt808_phone": t.jt808_phone,
                    "mmsi": t.mmsi,
                    "dev_eui": t.dev_eui,
                    "aemp_serial": t.aemp_serial,
                    "expected_interval_s": t.expected_interval_s,
                    "satellite": t.satellite,
                    "device_profile": t.device_profile,
                    "secret_hash": t.secret_hash,
                }
            )
            for t in doc.terminals
        ],
        "bindings": [
            drop_none(
                {
                    "device_id": b.device_id,
                    "asset_id": b.asset_id,
                    "from": _iso(b.valid_from),
                    "to": _iso(b.valid_to),
                    "by": b.by_user,
                    "why": b.reason,
                }
            )
            for b in doc.bindings
        ],
        "pledges": [
            drop_none(
                {
                    "asset_id": p.asset_id,
                    "loan_id": p.loan_id,
                    "from": _iso(p.valid_from),
                    "to": _iso(p.valid_to),
                    "by": p.by_user,
                    "why": p.reason,
                }
            )
            for p in doc.pledges
        ],
        "zones": [
            {
                "id": z.id,
                "asset_id": z.asset_id,
                "kind": z.kind,
                "name": z.name,
                "buffer_m": z.buffer_m,
                "geometry": z.geometry,
            }
            for z in doc.zones
        ],
    }


__all__ = ["SECTIONS", "load_assets_csv", "load_json", "parse_document", "to_document"]
