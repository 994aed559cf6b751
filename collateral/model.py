"""Registry value objects: what the bank knows about borrowers, loans, assets and terminals.

Field names follow the registry JSON format (docs/registry.md); ``from``/``to``/
``by``/``why`` become ``valid_from``/``valid_to``/``by_user``/``reason`` here and
in the tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

ASSET_CLASSES: Final = ("vehicle", "ship", "farm", "equipment")
PROTOCOLS: Final = ("json", "jt808", "ais", "lorawan", "aemp")
LOAN_STATUSES: Final = ("pending", "active", "closed", "defaulted", "written_off")
FORMAT: Final = "assetwatch-registry/1"


@dataclass(frozen=True, slots=True)
class Borrower:
    id: str
    name: str
    industry: str | None = None
    region: str | None = None
    officer: str | None = None


@dataclass(frozen=True, slots=True)
class Loan:
    id: str
    borrower_id: str
    amount: Decimal | None = None
    currency: str | None = None
    product: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    status: str = "active"


@dataclass(frozen=True, slots=True)
class Asset:
    """A pledged asset; ``identity`` and ``declared`` are the validated JSON blocks."""

    id: str
    borrower_id: str
    class_: str
    name: str
    identity: dict[str, Any] = field(default_factory=dict)
    declared: dict[str, Any] = field(default_factory=dict)
    stationary: bool = False


@dataclass(frozen=True, slots=True)
class Terminal:
    device_id: str
    protocol: str
    jt808_phone: str | None = None
    mmsi: str | None = None
    dev_eui: str | None = None
    aemp_serial: str | None = None
    expected_interval_s: int = 60
    satellite: bool = False
    device_profile: str | None = None
    secret_hash: str | None = None


@dataclass(frozen=True, slots=True)
class Binding:
    """Terminal ``device_id`` watches ``asset_id`` from ``valid_from`` until ``valid_to``."""

    device_id: str
    asset_id: str
    valid_from: datetime
    valid_to: datetime | None = None
    by_user: str = "unknown"
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Pledge:
    """Asset ``asset_id`` secures loan ``loan_id`` from ``valid_from`` until ``valid_to``."""

    asset_id: str
    loan_id: str
    valid_from: datetime
    valid_to: datetime | None = None
    by_user: str = "unknown"
    reason: str = ""


@dataclass(frozen=True, slots=True)
class DeviceProfile:
    """How a vendor's payload fields map onto reading fields (``metrics.x`` for metrics)."""

    name: str
    mapping: dict[str, str]


@dataclass(frozen=True, slots=True)
class ZoneRecord:
    id: str
    asset_id: str
    kind: str
    name: str
    buffer_m: float
    geometry: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RegistryDocument:
    """A whole registry file, validated; sections in dependency order."""

    borrowers: tuple[Borrower, ...] = ()
    loans: tuple[Loan, ...] = ()
    device_profiles: tuple[DeviceProfile, ...] = ()
    assets: tuple[Asset, ...] = ()
    terminals: tuple[Terminal, ...] = ()
    bindings: tuple[Binding, ...] = ()
    pledges: tuple[Pledge, ...] = ()
    zones: tuple[ZoneRecord, ...] = ()
