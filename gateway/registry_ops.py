"""Registry changes, delegated to :mod:`collateral.registry` (which validates and audits).

The gateway never writes registry tables itself: collateral owns the rules
(identity normalisation, double pledges, the audit chain). API bodies are
turned into the registry file's sections and applied with collateral's
all-or-nothing import, or its single-change functions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from collateral import registry
from collateral.document import parse_document
from collateral.model import FORMAT
from telemetry.db import Conn

SECTION = {
    "borrower": "borrowers",
    "loan": "loans",
    "asset": "assets",
    "terminal": "terminals",
    "zone": "zones",
}


def _now(at: datetime | None) -> datetime:
    return (at or datetime.now(UTC)).astimezone(UTC)


def create(conn: Conn, entity: str, fields: dict[str, Any], *, actor: str) -> None:
    """Add (or update by id) one borrower, loan, asset, terminal or zone (caller commits)."""
    item = {k: v for k, v in fields.items() if v is not None}
    doc = parse_document({"format": FORMAT, SECTION[entity]: [item]})
    registry.import_document(conn, doc, actor=actor)


def bind(
    conn: Conn, device_id: str, asset_id: str, *, at: datetime | None, actor: str, why: str
) -> None:
    """Bind a terminal to an asset (refused when it is bound to another asset)."""
    registry.bind(conn, device_id, asset_id, at=_now(at), by=actor, why=why, replace_open=False)


def unbind(conn: Conn, device_id: str, *, at: datetime | None, actor: str, why: str) -> None:
    """Close the terminal's open binding."""
    registry.unbind(conn, device_id, at=_now(at), by=actor, why=why)


def pledge(
    conn: Conn, asset_id: str, loan_id: str, *, at: datetime | None, actor: str, why: str
) -> None:
    """Pledge an asset to a loan (a double pledge is refused with 409)."""
    registry.pledge(conn, asset_id, loan_id, at=_now(at), by=actor, why=why)


def release(
    conn: Conn, asset_id: str, loan_id: str, *, at: datetime | None, actor: str, why: str
) -> None:
    """End the asset's open pledge to the loan."""
    registry.release(conn, asset_id, loan_id, at=_now(at), by=actor, why=why)
