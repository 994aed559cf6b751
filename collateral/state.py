"""The registry tables read into memory in one go (fine for tens of thousands of assets)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from collateral.errors import CollateralError
from collateral.model import (
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
from telemetry.db import Conn
from telemetry.sqlfiles import query


@dataclass(frozen=True)
class RegistryState:
    """Everything in the registry tables, keyed for lookups (ids of history rows kept)."""

    borrowers: dict[str, Borrower]
    loans: dict[str, Loan]
    device_profiles: dict[str, DeviceProfile]
    assets: dict[str, Asset]
    terminals: dict[str, Terminal]
    bindings: list[tuple[int, Binding]]
    pledges: list[tuple[int, Pledge]]
    zones: dict[str, ZoneRecord]

    def document(self) -> RegistryDocument:
        return RegistryDocument(
            borrowers=tuple(self.borrowers.values()),
            loans=tuple(self.loans.values()),
            device_profiles=tuple(self.device_profiles.values()),
            assets=tuple(self.assets.values()),
            terminals=tuple(self.terminals.values()),
            bindings=tuple(b for _, b in self.bindings),
            pledges=tuple(p for _, p in self.pledges),
            zones=tuple(self.zones.values()),
        )


def _rows(conn: Conn, name: str) -> list[tuple[Any, ...]]:
    try:
        return conn.execute(query("collateral", name)).fetchall()
    except psycopg.Error as exc:
        raise CollateralError(f"cannot read the registry: {exc}") from exc


def read_terminals(conn: Conn) -> dict[str, Terminal]:
    """Every terminal by device_id."""
    return {r[0]: Terminal(*r) for r in _rows(conn, "terminals_all")}


def read_profiles(conn: Conn) -> dict[str, DeviceProfile]:
    """Every device profile by name."""
    return {r[0]: DeviceProfile(r[0], dict(r[1])) for r in _rows(conn, "device_profiles_all")}


def read_assets(conn: Conn) -> dict[str, Asset]:
    """Every asset by id."""
    return {
        r[0]: Asset(r[0], r[1], r[2], r[3], dict(r[4]), dict(r[5]), bool(r[6]))
        for r in _rows(conn, "assets_all")
    }


def read_bindings(conn: Conn) -> list[tuple[int, Binding]]:
    """The whole binding history as (row id, binding)."""
    return [(int(r[0]), Binding(*r[1:])) for r in _rows(conn, "bindings_all")]


def read_zones(conn: Conn) -> dict[str, ZoneRecord]:
    """Every zone by id."""
    return {
        r[0]: ZoneRecord(r[0], r[1], r[2], r[3], float(r[4]), r[5])
        for r in _rows(conn, "zones_all")
    }


def read_state(conn: Conn) -> RegistryState:
    """Load the whole registry (fine for tens of thousands of assets)."""
    return RegistryState(
        borrowers={r[0]: Borrower(*r) for r in _rows(conn, "borrowers_all")},
        loans={r[0]: Loan(*r) for r in _rows(conn, "loans_all")},
        device_profiles=read_profiles(conn),
        assets=read_assets(conn),
        terminals=read_terminals(conn),
        bindings=read_bindings(conn),
        pledges=[(int(r[0]), Pledge(*r[1:])) for r in _rows(conn, "pledges_all")],
        zones=read_zones(conn),
    )
