"""Parsers of the registry file's elements (one borrower, loan, asset ... each).

Each takes the decoded JSON object and returns a value object from
:mod:`collateral.model` or raises :class:`ElementError` naming the field.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from collateral.identity import check_declared, normalise_identity
from collateral.model import (
    ASSET_CLASSES,
    LOAN_STATUSES,
    PROTOCOLS,
    Asset,
    Binding,
    Borrower,
    DeviceProfile,
    Loan,
    Pledge,
    Terminal,
    ZoneRecord,
)

_ID: Final = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_DEVICE: Final = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_PHONE: Final = re.compile(r"^[0-9]{11,12}$")
_MMSI: Final = re.compile(r"^[0-9]{9}$")
_EUI: Final = re.compile(r"^[0-9a-f]{16}$")


class ElementError(ValueError):
    """A field problem inside one element (turned into a Problem with its location)."""


def _s(
    d: dict[str, Any], key: str, *, required: bool = False, pattern: re.Pattern[str] | None = None
) -> str | None:
    v = d.get(key)
    if v is None or v == "":
        if required:
            raise ElementError(f"{key} is required")
        return None
    if not isinstance(v, str):
        raise ElementError(f"{key} must be a string, got {type(v).__name__}")
    v = v.strip()
    if pattern is not None and not pattern.match(v):
        raise ElementError(f"{key} {v!r} is malformed")
    return v


def _req(d: dict[str, Any], key: str, pattern: re.Pattern[str] | None = None) -> str:
    v = _s(d, key, required=True, pattern=pattern)
    assert v is not None
    return v


def parse_time(value: object, key: str) -> datetime:
    """RFC 3339 with a zone (``Z`` or offset) -> aware UTC datetime."""
    if not isinstance(value, str):
        raise ElementError(f"{key} must be an RFC 3339 time string")
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise ElementError(f"{key} {value!r} is not an RFC 3339 time") from exc
    if t.tzinfo is None:
        raise ElementError(f"{key} {value!r} needs a time zone (e.g. Z)")
    return t.astimezone(UTC)


def _date(d: dict[str, Any], key: str) -> date | None:
    v = d.get(key)
    if v in (None, ""):
        return None
    try:
        return date.fromisoformat(str(v))
    except ValueError as exc:
        raise ElementError(f"{key} {v!r} is not a YYYY-MM-DD date") from exc


def _only(d: dict[str, Any], keys: Iterable[str]) -> None:
    extra = sorted(set(d) - set(keys))
    if extra:
        raise ElementError(f"unknown field(s) {extra}")


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
            raise ElementError("amount must be a number")
        try:
            amount = Decimal(str(raw))
        except InvalidOperation as exc:
            raise ElementError(f"amount {raw!r} is not a number") from exc
        if not amount.is_finite() or amount < 0:
            raise ElementError(f"amount {raw!r} must be a finite number >= 0")
    currency = _s(d, "currency", pattern=re.compile(r"^[A-Z]{3}$"))
    start, end = _date(d, "start"), _date(d, "end")
    if start and end and end < start:
        raise ElementError(f"end {end} is before start {start}")
    status = _s(d, "status") or "active"
    if status not in LOAN_STATUSES:
        raise ElementError(f"status must be one of {LOAN_STATUSES}, got {status!r}")
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
        raise ElementError(f"class must be one of {ASSET_CLASSES}, got {cls!r}")
    stationary = d.get("stationary", False)
    if not isinstance(stationary, bool):
        raise ElementError("stationary must be true or false")
    try:
        identity = normalise_identity(cls, d.get("identity") or {})
        declared = check_declared(d.get("declared"))
    except ValueError as exc:
        raise ElementError(str(exc)) from exc
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
        raise ElementError(f"protocol must be one of {PROTOCOLS}, got {proto!r}")
    phone = _s(d, "jt808_phone", pattern=_PHONE)
    if phone is not None:
        phone = phone.zfill(12)
    eui = _s(d, "dev_eui")
    if eui is not None:
        eui = eui.lower().replace("-", "").replace(":", "")
        if not _EUI.match(eui):
            raise ElementError(f"dev_eui {d['dev_eui']!r} must be 16 hex digits")
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
        raise ElementError(f"a {proto} terminal needs {needed[proto]}")
    return t


def _interval(v: object) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
        raise ElementError(f"expected_interval_s must be a positive number of seconds, got {v!r}")
    return round(v)


def _bool(d: dict[str, Any], key: str) -> bool:
    v = d.get(key, False)
    if not isinstance(v, bool):
        raise ElementError(f"{key} must be true or false")
    return v


def _interval_of(d: dict[str, Any]) -> tuple[datetime, datetime | None]:
    start = parse_time(d.get("from"), "from")
    end = parse_time(d["to"], "to") if d.get("to") is not None else None
    if end is not None and end <= start:
        raise ElementError(f"to {d['to']} is not after from {d['from']}")
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
        raise ElementError("mapping must be an object of reading field -> payload field names")
    return DeviceProfile(_req(d, "name", _ID), dict(mapping))


def zone_record(d: dict[str, Any]) -> ZoneRecord:
    _only(d, ("id", "asset_id", "kind", "name", "buffer_m", "geometry"))
    kind = _req(d, "kind")
    if kind not in ("pledged", "base", "region"):
        raise ElementError(f"kind must be pledged, base or region, got {kind!r}")
    buf = d.get("buffer_m", 0)
    if (
        isinstance(buf, bool)
        or not isinstance(buf, (int, float))
        or not math.isfinite(buf)
        or buf < 0
    ):
        raise ElementError(f"buffer_m must be a number >= 0, got {buf!r}")
    geom = d.get("geometry")
    if not isinstance(geom, dict):
        raise ElementError("geometry must be a GeoJSON Polygon or MultiPolygon object")
    return ZoneRecord(
        _req(d, "id", _ID), _req(d, "asset_id", _ID), kind, _s(d, "name") or "", float(buf), geom
    )


def drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}
