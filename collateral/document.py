"""The registry file (``assetwatch-registry/1``) and the assets CSV: parse, validate, write.

Parsing collects every problem with where it is -- ``assets[3] (A004)`` in JSON,
``line 7`` in CSV -- and raises one :class:`RegistryError` listing them all, so a
file is either wholly valid or nothing of it is applied. Cross-references are
checked later against the document plus the database (see ``registry.py``).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final, TypeVar

from collateral.errors import GeoJSONError, Problem, RegistryError
from collateral.geojson import parse_zone_geometry, zone_base_point
from collateral.identity import check_declared, normalise_identity
from collateral.model import (
    ASSET_CLASSES,
    FORMAT,
    LOAN_STATUSES,
    PROTOCOLS,
    Asset,
    Binding,
    Borrower,
    DeviceProfile,
    Loan,
    Pledge,
    RegistryDocument,
    Terminal,
    ZoneRecord,
)

_ID: Final = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_DEVICE: Final = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_PHONE: Final = re.compile(r"^[0-9]{11,12}$")
_MMSI: Final = re.compile(r"^[0-9]{9}$")
_EUI: Final = re.compile(r"^[0-9a-f]{16}$")
T = TypeVar("T")


class _Bad(ValueError):
    """A field problem inside one element (turned into a Problem with its location)."""


def _s(
    d: dict[str, Any], key: str, *, required: bool = False, pattern: re.Pattern[str] | None = None
) -> str | None:
    v = d.get(key)
    if v is None or v == "":
        if required:
            raise _Bad(f"{key} is required")
        return None
    if not isinstance(v, str):
        raise _Bad(f"{key} must be a string, got {type(v).__name__}")
    v = v.strip()
    if pattern is not None and not pattern.match(v):
        raise _Bad(f"{key} {v!r} is malformed")
    return v


def _req(d: dict[str, Any], key: str, pattern: re.Pattern[str] | None = None) -> str:
    v = _s(d, key, required=True, pattern=pattern)
    assert v is not None
    return v


def parse_time(value: object, key: str) -> datetime:
    """RFC 3339 with a zone (``Z`` or offset) -> aware UTC datetime."""
    if not isinstance(value, str):
        raise _Bad(f"{key} must be an RFC 3339 time string")
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise _Bad(f"{key} {value!r} is not an RFC 3339 time") from exc
    if t.tzinfo is None:
        raise _Bad(f"{key} {value!r} needs a time zone (e.g. Z)")
    return t.astimezone(UTC)


def _date(d: dict[str, Any], key: str) -> date | None:
    v = d.get(key)
    if v in (None, ""):
        return None
    try:
        return date.fromisoformat(str(v))
    except ValueError as exc:
        raise _Bad(f"{key} {v!r} is not a YYYY-MM-DD date") from exc


def _only(d: dict[str, Any], keys: Iterable[str]) -> None:
    extra = sorted(set(d) - set(keys))
    if extra:
        raise _Bad(f"unknown field(s) {extra}")


def borrower(d: dict[str, Any]) -> Borrower:
    _only(d, ("id", "name", "industry", "region", "officer"))
    return Borrower(
        _req(d, "id", _ID), _req(d, "name"), _s(d, "industry"), _s(d, "region"), _s(d, "officer")
    )


def loan(d: dict[str, Any]) -> Loan:
    _only(d, ("id", "borrower_id", "amount", "currency", "product", "start", "end", "status"))
    amount: Decimal | None = None
    if d.get("amount") is not None:
        raw = d["amount"]
        if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
            raise _Bad("amount must be a number")
        try:
            amount = Decimal(str(raw))
        except InvalidOperation as exc:
            raise _Bad(f"amount {raw!r} is not a number") from exc
        if not amount.is_finite() or amount < 0:
            raise _Bad(f"amount {raw!r} must be a finite number >= 0")
    currency = _s(d, "currency", pattern=re.compile(r"^[A-Z]{3}$"))
    start, end = _date(d, "start"), _date(d, "end")
    if start and end and end < start:
        raise _Bad(f"end {end} is before start {start}")
    status = _s(d, "status") or "active"
    if status not in LOAN_STATUSES:
        raise _Bad(f"status must be one of {LOAN_STATUSES}, got {status!r}")
    return Loan(
        _req(d, "id", _ID),
        _req(d, "borrower_id", _ID),
        amount,
        currency,
        _s(d, "product"),
        start,
        end,
        status,
    )


def asset(d: dict[str, Any]) -> Asset:
    _only(d, ("id", "borrower_id", "class", "name", "identity", "declared", "stationary"))
    cls = _req(d, "class")
    if cls not in ASSET_CLASSES:
        raise _Bad(f"class must be one of {ASSET_CLASSES}, got {cls!r}")
    stationary = d.get("stationary", False)
    if not isinstance(stationary, bool):
        raise _Bad("stationary must be true or false")
    try:
        identity = normalise_identity(cls, d.get("identity") or {})
        declared = check_declared(d.get("declared"))
    except ValueError as exc:
        raise _Bad(str(exc)) from exc
    return Asset(
        _req(d, "id", _ID),
        _req(d, "borrower_id", _ID),
        cls,
        _req(d, "name"),
        identity,
        declared,
        stationary,
    )


def terminal(d: dict[str, Any]) -> Terminal:
    _only(
        d,
        (
            "device_id",
            "protocol",
            "jt808_phone",
            "mmsi",
            "dev_eui",
            "aemp_serial",
            "expected_interval_s",
            "satellite",
            "device_profile",
            "secret_hash",
        ),
    )
    proto = _req(d, "protocol")
    if proto not in PROTOCOLS:
        raise _Bad(f"protocol must be one of {PROTOCOLS}, got {proto!r}")
    phone = _s(d, "jt808_phone", pattern=_PHONE)
    if phone is not None:
        phone = phone.zfill(12)
    eui = _s(d, "dev_eui")
    if eui is not None:
        eui = eui.lower().replace("-", "").replace(":", "")
        if not _EUI.match(eui):
            raise _Bad(f"dev_eui {d['dev_eui']!r} must be 16 hex digits")
    t = Terminal(
        device_id=_req(d, "device_id", _DEVICE),
        protocol=proto,
        jt808_phone=phone,
        mmsi=_s(d, "mmsi", pattern=_MMSI),
        dev_eui=eui,
        aemp_serial=_s(d, "aemp_serial"),
        expected_interval_s=_interval(d.get("expected_interval_s", 60)),
        satellite=_bool(d, "satellite"),
        device_profile=_s(d, "device_profile"),
        secret_hash=_s(d, "secret_hash"),
    )
    needed = {"jt808": "jt808_phone", "ais": "mmsi", "lorawan": "dev_eui", "aemp": "aemp_serial"}
    if proto in needed and getattr(t, needed[proto]) is None:
        raise _Bad(f"a {proto} terminal needs {needed[proto]}")
    return t


def _interval(v: object) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
        raise _Bad(f"expected_interval_s must be a positive number of seconds, got {v!r}")
    return round(v)


def _bool(d: dict[str, Any], key: str) -> bool:
    v = d.get(key, False)
    if not isinstance(v, bool):
        raise _Bad(f"{key} must be true or false")
    return v


def _interval_of(d: dict[str, Any]) -> tuple[datetime, datetime | None]:
    start = parse_time(d.get("from"), "from")
    end = parse_time(d["to"], "to") if d.get("to") is not None else None
    if end is not None and end <= start:
        raise _Bad(f"to {d['to']} is not after from {d['from']}")
    return start, end


def binding(d: dict[str, Any]) -> Binding:
    _only(d, ("device_id", "asset_id", "from", "to", "by", "why"))
    start, end = _interval_of(d)
    return Binding(
        _req(d, "device_id", _DEVICE),
        _req(d, "asset_id", _ID),
        start,
        end,
        _s(d, "by") or "import",
        _s(d, "why") or "",
    )


def pledge(d: dict[str, Any]) -> Pledge:
    _only(d, ("asset_id", "loan_id", "from", "to", "by", "why"))
    start, end = _interval_of(d)
    return Pledge(
        _req(d, "asset_id", _ID),
        _req(d, "loan_id", _ID),
        start,
        end,
        _s(d, "by") or "import",
        _s(d, "why") or "",
    )


def device_profile(d: dict[str, Any]) -> DeviceProfile:
    _only(d, ("name", "mapping"))
    mapping = d.get("mapping")
    if not isinstance(mapping, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
    ):
        raise _Bad("mapping must be an object of reading field -> payload field names")
    return DeviceProfile(_req(d, "name", _ID), dict(mapping))


def zone_record(d: dict[str, Any]) -> ZoneRecord:
    _only(d, ("id", "asset_id", "kind", "name", "buffer_m", "geometry"))
    kind = _req(d, "kind")
    if kind not in ("pledged", "base", "region"):
        raise _Bad(f"kind must be pledged, base or region, got {kind!r}")
    buf = d.get("buffer_m", 0)
    if (
        isinstance(buf, bool)
        or not isinstance(buf, (int, float))
        or not math.isfinite(buf)
        or buf < 0
    ):
        raise _Bad(f"buffer_m must be a number >= 0, got {buf!r}")
    geom = d.get("geometry")
    if not isinstance(geom, dict):
        raise _Bad("geometry must be a GeoJSON Polygon or MultiPolygon object")
    return ZoneRecord(
        _req(d, "id", _ID), _req(d, "asset_id", _ID), kind, _s(d, "name") or "", float(buf), geom
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
            except _Bad as exc:
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


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def to_document(doc: RegistryDocument) -> dict[str, Any]:
    """The JSON-ready registry file of ``doc`` (what ``registry export`` writes)."""
    return {
        "format": FORMAT,
        "borrowers": [
            _drop_none(
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
            _drop_none(
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
            _drop_none(
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
            _drop_none(
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
            _drop_none(
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


# ---------------------------------------------------------------- assets CSV
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
        raise _Bad(f"{key} {raw!r} is not a number") from exc
    return int(v) if v.is_integer() and key not in ("base_lat", "base_lon") else v


def _csv_ints(row: dict[str, str], key: str) -> list[int] | None:
    raw = (row.get(key) or "").strip()
    if not raw:
        return None
    try:
        return [int(x) for x in re.split(r"[;\s,]+", raw) if x]
    except ValueError as exc:
        raise _Bad(f"{key} {raw!r} must be integers separated by ';'") from exc


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
        raise _Bad("base_lat and base_lon come together")
    if lat is not None and lon is not None:
        declared["base"] = _drop_none(
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
        raise _Bad(f"stationary {row['stationary']!r} must be true or false")
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
        except _Bad as exc:
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


def first(items: Iterable[T]) -> T | None:
    """The first item or None (small helper for optional lookups)."""
    return next(iter(items), None)
