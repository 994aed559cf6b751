"""Which terminals exist: a cached snapshot of the registry's ``terminals`` table.

The collateral package owns ``terminals`` and ``device_profiles``; ingest only
reads them, with its own named query, and keeps an in-memory snapshot that is
refreshed periodically (and, rate-limited, when an unknown identifier shows up,
so a terminal registered a moment ago is found without waiting a full period).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

import psycopg

from ingest.codecs.base import ID_AEMP, ID_DEV_EUI, ID_DEVICE, ID_JT808, ID_MMSI
from ingest.errors import IngestError
from telemetry.db import Conn
from telemetry.sqlfiles import query

log = logging.getLogger(__name__)

_EMPTY: Final[Mapping[str, Any]] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Terminal:
    """What ingest needs to know about one registered terminal."""

    device_id: str
    protocol: str
    profile: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class RegistrySnapshot:
    """Identifier kind -> identifier -> terminal, as of one refresh."""

    by_kind: Mapping[str, Mapping[str, Terminal]] = field(default_factory=dict)

    def find(self, kind: str, identifier: str) -> Terminal | None:
        table = self.by_kind.get(kind)
        return None if table is None else table.get(identifier)

    def profile_for(self, dev_eui: str) -> Mapping[str, Any] | None:
        """LoRaWAN profile mapping; ``{}`` for a known terminal without one, None if unknown."""
        term = self.find(ID_DEV_EUI, dev_eui)
        if term is None:
            return None
        return term.profile if term.profile is not None else _EMPTY

    def __len__(self) -> int:
        return len(self.by_kind.get(ID_DEVICE, {}))


def load_snapshot(conn: Conn) -> RegistrySnapshot:
    """Read every terminal (a few hundred thousand rows at most: one query, no paging)."""
    try:
        row = conn.execute(query("ingest", "registry_available")).fetchone()
        if not row or not row[0]:
            log.warning("registry tables are missing: every terminal is unknown")
            return RegistrySnapshot()
        kinds: dict[str, dict[str, Terminal]] = {
            k: {} for k in (ID_DEVICE, ID_JT808, ID_MMSI, ID_DEV_EUI, ID_AEMP)
        }
        for device_id, protocol, phone, mmsi, eui, serial, _name, mapping in conn.execute(
            query("ingest", "registry_terminals")
        ):
            profile = mapping if isinstance(mapping, dict) else None
            term = Terminal(str(device_id), str(protocol), profile)
            kinds[ID_DEVICE][term.device_id] = term
            for kind, value in ((ID_JT808, phone), (ID_MMSI, mmsi), (ID_AEMP, serial)):
                if value:
                    kinds[kind][str(value)] = term
            if eui:
                kinds[ID_DEV_EUI][str(eui).lower()] = term
        conn.commit()
    except psycopg.Error as exc:
        raise IngestError(f"cannot read the terminal registry: {exc}") from exc
    return RegistrySnapshot(kinds)


class RegistryCache:
    """A snapshot refreshed every ``period_s`` and on misses (at most once per ``miss_s``)."""

    def __init__(self, conn_factory: Any, *, period_s: float, miss_s: float = 1.0) -> None:
        self._conn_factory = conn_factory
        self._period = period_s
        self._miss = miss_s
        self._conn: Conn | None = None
        self.snapshot = RegistrySnapshot()
        self._loaded_at = float("-inf")

    def refresh(self) -> None:
        """Reload now; on a database error keep the old snapshot and retry later."""
        try:
            if self._conn is None or self._conn.closed:
                self._conn = self._conn_factory()
            assert self._conn is not None
            self.snapshot = load_snapshot(self._conn)
        except Exception as exc:  # keep serving the last snapshot; the DB may be restarting
            log.warning(
                "registry refresh failed (keeping %d terminals): %s", len(self.snapshot), exc
            )
            if self._conn is not None:
                self._conn.close()
            self._conn = None
        self._loaded_at = time.monotonic()

    def maybe_refresh(self) -> None:
        if time.monotonic() - self._loaded_at >= self._period:
            self.refresh()

    def refresh_on_miss(self) -> bool:
        """Reload after an unknown identifier, rate-limited; True when it reloaded."""
        if time.monotonic() - self._loaded_at >= self._miss:
            self.refresh()
            return True
        return False

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def static_registry(snapshot: RegistrySnapshot) -> RegistryCache:
    """A cache that never reloads (tests, and tools that load the registry once)."""

    def _no_db() -> Conn:
        raise IngestError("this registry cache has no database")

    cache = RegistryCache(_no_db, period_s=float("inf"), miss_s=float("inf"))
    cache.snapshot = snapshot
    cache._loaded_at = time.monotonic()
    return cache


def snapshot_of(terminals: list[dict[str, Any]]) -> RegistrySnapshot:
    """A snapshot from terminal dicts (``device_id``, ``protocol``, identifiers, ``profile``)."""
    kinds: dict[str, dict[str, Terminal]] = {
        k: {} for k in (ID_DEVICE, ID_JT808, ID_MMSI, ID_DEV_EUI, ID_AEMP)
    }
    for t in terminals:
        term = Terminal(t["device_id"], t.get("protocol", "json"), t.get("profile"))
        kinds[ID_DEVICE][term.device_id] = term
        for kind in (ID_JT808, ID_MMSI, ID_DEV_EUI, ID_AEMP):
            if t.get(kind):
                kinds[kind][str(t[kind])] = term
    return RegistrySnapshot(kinds)
