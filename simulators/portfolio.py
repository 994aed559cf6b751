"""The simulated portfolio's data: sites, assets, terminals, borrowers, loans, the fleet."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from simulators.geo import Box

CLASSES: Final = ("vehicle", "ship", "farm", "equipment")


@dataclass(frozen=True, slots=True)
class Site:
    """A named place: a depot, a port, a pasture, a work site."""

    name: str
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class Asset:
    """One pledged asset and how it is declared to operate."""

    asset_id: str
    borrower_id: str
    loan_id: str
    cls: str
    kind: str  # truck | cargo | fishing | laid_up | herd | excavator | generator | production
    name: str
    identity: Mapping[str, object]
    declared: Mapping[str, object]
    stationary: bool
    region: str
    base: Site
    sites: tuple[Site, ...]
    zone: Box
    buffer_m: float
    hours_per_day: float
    working_days: tuple[int, ...]
    size: float  # heads (farm), rated kW (equipment), tank litres (vehicle), dwt (ship)


@dataclass(frozen=True, slots=True)
class Terminal:
    """One terminal fitted to an asset, with its protocol identifiers."""

    device_id: str
    asset_id: str
    role: str  # tracker | ais | collar | silo | power | aemp
    protocol: str  # json | jt808 | ais | lorawan | aemp
    expected_interval_s: int
    satellite: bool = False
    jt808_phone: str | None = None
    mmsi: str | None = None
    dev_eui: str | None = None
    aemp_serial: str | None = None
    device_profile: str | None = None
    jt808_2019: bool = False
    aemp_xml: bool = False


@dataclass(frozen=True, slots=True)
class Borrower:
    borrower_id: str
    name: str
    industry: str
    region: str
    officer: str


@dataclass(frozen=True, slots=True)
class Loan:
    loan_id: str
    borrower_id: str
    amount: int
    product: str


@dataclass(frozen=True, slots=True)
class Fleet:
    """The whole simulated portfolio; ``terminals`` are in device-id order of creation."""

    borrowers: tuple[Borrower, ...]
    loans: tuple[Loan, ...]
    assets: tuple[Asset, ...]
    terminals: tuple[Terminal, ...]
    asset_by_id: Mapping[str, Asset] = field(default_factory=dict)
    by_asset: Mapping[str, tuple[Terminal, ...]] = field(default_factory=dict)

    def terminals_of(self, asset_id: str) -> tuple[Terminal, ...]:
        return self.by_asset.get(asset_id, ())
