"""Read-side of the registry for the ingest and the detectors.

* :func:`load_terminal_index` -- protocol identifiers (JT/T 808 phone, MMSI,
  DevEUI, ISO 15143-3 serial) to ``device_id``, each terminal's cadence and
  device profile mapping. Build it at start-up and rebuild it when the registry
  changes; lookups are dictionary hits.
* :func:`load_binding_index` -- which asset a terminal watched at an event time
  (bindings have history, so a late reading is attributed to the asset the
  terminal was on when it was measured).
* :func:`load_assets` -- class, stationary flag and declared operations.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from collateral.geojson import zone_base_point
from collateral.state import read_assets, read_bindings, read_profiles, read_terminals, read_zones
from collateral.zones import Zone, ZoneIndex
from telemetry.db import Conn


@dataclass(frozen=True, slots=True)
class TerminalInfo:
    """One terminal as the ingest needs it."""

    device_id: str
    protocol: str
    expected_interval_s: int
    satellite: bool
    device_profile: str | None
    secret_hash: str | None
    jt808_phone: str | None = None
    mmsi: str | None = None
    dev_eui: str | None = None
    aemp_serial: str | None = None


def _phone_key(phone: str) -> str:
    # BCD phone numbers arrive as 6 bytes (2013) or 10 bytes (2019) with leading zeros.
    return phone.strip().lstrip("0")


@dataclass(frozen=True)
class TerminalIndex:
    """Identifier -> device_id maps, terminal details and device-profile mappings."""

    terminals: Mapping[str, TerminalInfo]
    by_jt808_phone: Mapping[str, str]
    by_mmsi: Mapping[str, str]
    by_dev_eui: Mapping[str, str]
    by_aemp_serial: Mapping[str, str]
    profiles: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def device_for_jt808(self, phone: str) -> str | None:
        """device_id of a JT/T 808 terminal phone number (BCD digits, any zero padding)."""
        return self.by_jt808_phone.get(_phone_key(phone))

    def device_for_mmsi(self, mmsi: str | int) -> str | None:
        return self.by_mmsi.get(str(mmsi).strip().zfill(9))

    def device_for_dev_eui(self, dev_eui: str) -> str | None:
        key = dev_eui.strip().lower().replace("-", "").replace(":", "")
        return self.by_dev_eui.get(key)

    def device_for_aemp(self, serial: str) -> str | None:
        return self.by_aemp_serial.get(serial.strip())

    def info(self, device_id: str) -> TerminalInfo | None:
        return self.terminals.get(device_id)

    def profile_of(self, device_id: str) -> Mapping[str, str] | None:
        """The payload mapping of the terminal's device profile, if it has one."""
        t = self.terminals.get(device_id)
        if t is None or t.device_profile is None:
            return None
        return self.profiles.get(t.device_profile)


def load_terminal_index(conn: Conn) -> TerminalIndex:
    """Every terminal and device profile, indexed by each protocol identifier."""
    terminals, profiles = read_terminals(conn), read_profiles(conn)
    infos = {
        t.device_id: TerminalInfo(
            t.device_id,
            t.protocol,
            t.expected_interval_s,
            t.satellite,
            t.device_profile,
            t.secret_hash,
            t.jt808_phone,
            t.mmsi,
            t.dev_eui,
            t.aemp_serial,
        )
        for t in terminals.values()
    }
    ro = MappingProxyType
    return TerminalIndex(
        terminals=ro(infos),
        by_jt808_phone=ro(
            {_phone_key(t.jt808_phone): d for d, t in infos.items() if t.jt808_phone}
        ),
        by_mmsi=ro({t.mmsi: d for d, t in infos.items() if t.mmsi}),
        by_dev_eui=ro({t.dev_eui: d for d, t in infos.items() if t.dev_eui}),
        by_aemp_serial=ro({t.aemp_serial: d for d, t in infos.items() if t.aemp_serial}),
        profiles=ro({p.name: ro(dict(p.mapping)) for p in profiles.values()}),
    )


@dataclass(frozen=True)
class BindingIndex:
    """Binding history per terminal, for "which asset at time t" lookups."""

    _starts: Mapping[str, list[datetime]]
    _rows: Mapping[str, list[tuple[datetime, datetime | None, str]]]

    def asset_at(self, device_id: str, ts: datetime) -> str | None:
        """The asset the terminal was bound to at ``ts`` (the latest-opened if several)."""
        starts = self._starts.get(device_id)
        if not starts:
            return None
        i = bisect.bisect_right(starts, ts)
        for start, end, asset in reversed(self._rows[device_id][:i]):
            if start <= ts and (end is None or ts < end):
                return asset
        return None

    def assets_at(self, device_id: str, ts: datetime) -> list[str]:
        """Every asset bound at ``ts`` (more than one is a double binding)."""
        return [a for s, e, a in self._rows.get(device_id, ()) if s <= ts and (e is None or ts < e)]

    def active(self, at: datetime | None = None) -> dict[str, str]:
        """device_id -> asset_id of the bindings in force at ``at`` (default now)."""
        when = at or datetime.now(UTC)
        out = {}
        for dev in self._rows:
            asset = self.asset_at(dev, when)
            if asset is not None:
                out[dev] = asset
        return out

    def devices_of(self, asset_id: str, at: datetime | None = None) -> list[str]:
        """Terminals bound to the asset at ``at`` (default now)."""
        return sorted(d for d, a in self.active(at).items() if a == asset_id)


def load_binding_index(conn: Conn) -> BindingIndex:
    """The whole binding history."""
    rows: dict[str, list[tuple[datetime, datetime | None, str]]] = {}
    for _, b in read_bindings(conn):
        rows.setdefault(b.device_id, []).append((b.valid_from, b.valid_to, b.asset_id))
    for v in rows.values():
        v.sort(key=lambda r: r[0])
    return BindingIndex({d: [r[0] for r in v] for d, v in rows.items()}, rows)


def active_bindings(conn: Conn, at: datetime | None = None) -> dict[str, str]:
    """device_id -> asset_id in force at ``at`` (default now)."""
    return load_binding_index(conn).active(at)


@dataclass(frozen=True, slots=True)
class AssetInfo:
    """What detectors need about an asset."""

    id: str
    borrower_id: str
    class_: str
    name: str
    stationary: bool
    identity: Mapping[str, Any]
    declared: Mapping[str, Any]

    @property
    def base(self) -> tuple[float, float] | None:
        """Declared base ``(lat, lon)``, if any."""
        return zone_base_point(dict(self.declared))


def load_assets(conn: Conn) -> dict[str, AssetInfo]:
    """Every asset by id."""
    return {
        a.id: AssetInfo(
            a.id,
            a.borrower_id,
            a.class_,
            a.name,
            a.stationary,
            MappingProxyType(a.identity),
            MappingProxyType(a.declared),
        )
        for a in read_assets(conn).values()
    }


def load_zone_index(conn: Conn) -> ZoneIndex:
    """Every zone, prepared for containment and distance tests (see :mod:`collateral.zones`).

    Stored zones were validated when written, so they are only projected here.
    """
    return ZoneIndex.from_zones(
        (
            Zone(z.id, z.asset_id, z.kind, z.name, z.buffer_m, z.geometry)
            for z in read_zones(conn).values()
        ),
        trusted=True,
    )
