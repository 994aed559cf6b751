"""The registry in the database: import and export, conflicts, bind and pledge.

This module is the facade other packages call (the gateway, the CLI, the
simulators' seeding); the import itself lives in :mod:`collateral.importing`,
the table snapshot in :mod:`collateral.state`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from collateral import audit
from collateral.audit import AuditEntry
from collateral.conflicts import Conflict, find_conflicts
from collateral.document import to_document
from collateral.errors import (
    DoublePledgeError,
    NotFound,
    RegistryError,
)
from collateral.importing import ImportResult, _copy, _jsonable, import_document
from collateral.model import (
    Asset,
    Binding,
    Pledge,
    RegistryDocument,
    ZoneRecord,
)
from collateral.state import RegistryState, read_state
from telemetry.db import Conn
from telemetry.sqlfiles import query


def export_document(conn: Conn, *, with_secrets: bool = False) -> dict[str, Any]:
    """The whole registry as a registry file (``assetwatch-registry/1``).

    Terminal credential hashes are left out unless ``with_secrets``; importing
    such a file keeps the stored ones.
    """
    doc = to_document(read_state(conn).document())
    if not with_secrets:
        for t in doc["terminals"]:
            t.pop("secret_hash", None)
    return doc


def list_conflicts(
    conn: Conn, *, at: datetime | None = None, current: bool = True
) -> list[Conflict]:
    """Double pledges and double bindings; by default only those in force now."""
    when = (at or datetime.now(UTC)) if current or at else None
    return find_conflicts(*_conflict_inputs(read_state(conn)), at=when)


def _conflict_inputs(st: RegistryState) -> tuple[dict[str, Asset], list[Pledge], list[Binding]]:
    return st.assets, [p for _, p in st.pledges], [b for _, b in st.bindings]


# ------------------------------------------------------------- single changes
def bind(
    conn: Conn,
    device_id: str,
    asset_id: str,
    *,
    at: datetime,
    by: str,
    why: str,
    replace_open: bool = True,
) -> None:
    """Bind a terminal to an asset from ``at``; the terminal's open binding is closed then.

    With ``replace_open=False`` an open binding to another asset refuses the
    change with :class:`DoublePledgeError` instead.
    """
    with conn.transaction():
        conn.execute(query("collateral", "registry_lock"))
        st = read_state(conn)
        if device_id not in st.terminals:
            raise NotFound(f"terminal {device_id!r} is not registered")
        if asset_id not in st.assets:
            raise NotFound(f"asset {asset_id!r} is not registered")
        entries: list[AuditEntry] = []
        for row_id, b in st.bindings:
            if b.device_id == device_id and b.valid_to is None:
                if not replace_open and b.asset_id != asset_id:
                    raise DoublePledgeError(
                        f"terminal {device_id} is bound to {b.asset_id} since "
                        f"{b.valid_from.isoformat()}; unbind it first",
                    )
                if at <= b.valid_from:
                    raise RegistryError(
                        f"binding at {at.isoformat()} is not after the open one "
                        f"from {b.valid_from.isoformat()}"
                    )
                conn.execute(
                    query("collateral", "binding_close"),
                    {"id": row_id, "valid_to": at, "closed_by": by, "close_reason": why},
                )
                entries.append(
                    AuditEntry(
                        by,
                        "close",
                        "binding",
                        f"{device_id}/{b.asset_id}",
                        {"id": row_id, "valid_to": at, "why": why},
                    )
                )
        new = Binding(device_id, asset_id, at, None, by, why)
        _copy(conn, "bindings_copy", [new])
        entries.append(
            AuditEntry(by, "open", "binding", f"{device_id}/{asset_id}", {"new": _jsonable(new)})
        )
        audit.append_many(conn, entries)


def unbind(conn: Conn, device_id: str, *, at: datetime, by: str, why: str) -> None:
    """Close the terminal's open binding at ``at``."""
    with conn.transaction():
        conn.execute(query("collateral", "registry_lock"))
        st = read_state(conn)
        open_ = [(i, b) for i, b in st.bindings if b.device_id == device_id and b.valid_to is None]
        if not open_:
            raise NotFound(f"terminal {device_id!r} has no open binding")
        for row_id, b in open_:
            conn.execute(
                query("collateral", "binding_close"),
                {"id": row_id, "valid_to": at, "closed_by": by, "close_reason": why},
            )
            audit.append(
                conn,
                by,
                "close",
                "binding",
                f"{device_id}/{b.asset_id}",
                {"id": row_id, "valid_to": at, "why": why},
            )


def pledge(
    conn: Conn,
    asset_id: str,
    loan_id: str,
    *,
    at: datetime,
    by: str,
    why: str,
    allow_conflict: bool = False,
) -> list[Conflict]:
    """Pledge an asset to a loan from ``at``; refuses a double pledge unless allowed (flagged)."""
    doc = RegistryDocument(pledges=(Pledge(asset_id, loan_id, at, None, by, why),))
    return list(import_document(conn, doc, actor=by, allow_conflicts=allow_conflict).flagged)


def release(conn: Conn, asset_id: str, loan_id: str, *, at: datetime, by: str, why: str) -> None:
    """End the asset's open pledge to the loan at ``at``."""
    with conn.transaction():
        conn.execute(query("collateral", "registry_lock"))
        st = read_state(conn)
        open_ = [
            (i, p)
            for i, p in st.pledges
            if p.asset_id == asset_id and p.loan_id == loan_id and p.valid_to is None
        ]
        if not open_:
            raise NotFound(f"asset {asset_id!r} has no open pledge to loan {loan_id!r}")
        for row_id, _ in open_:
            conn.execute(
                query("collateral", "pledge_close"),
                {"id": row_id, "valid_to": at, "closed_by": by, "close_reason": why},
            )
            audit.append(
                conn,
                by,
                "close",
                "pledge",
                f"{asset_id}/{loan_id}",
                {"id": row_id, "valid_to": at, "why": why},
            )


def put_zone(conn: Conn, zone: ZoneRecord, *, by: str) -> None:
    """Create or replace one zone (validated; the old geometry stays in the audit log)."""
    import_document(conn, RegistryDocument(zones=(zone,)), actor=by)


def delete_zone(conn: Conn, zone_id: str, *, by: str, why: str) -> None:
    """Remove a zone; the audit entry keeps what it was."""
    with conn.transaction():
        st = read_state(conn)
        old = st.zones.get(zone_id)
        if old is None:
            raise NotFound(f"zone {zone_id!r} does not exist")
        conn.execute(query("collateral", "zone_delete"), {"id": zone_id})
        audit.append(conn, by, "delete", "zone", zone_id, {"old": _jsonable(old), "why": why})


def dumps(doc: dict[str, Any]) -> str:
    """Registry file text (stable key order, UTF-8)."""
    return json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=False)


__all__ = [
    "ImportResult",
    "RegistryState",
    "bind",
    "delete_zone",
    "dumps",
    "export_document",
    "import_document",
    "list_conflicts",
    "pledge",
    "put_zone",
    "read_state",
    "release",
    "unbind",
]
