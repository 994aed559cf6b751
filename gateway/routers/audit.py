"""The audit chain: verify it, read one entity's history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from collateral import audit
from gateway.deps import AdminUser, Analyst, ConnDep

router = APIRouter(prefix="/api/audit", tags=["audit"])


@router.get("/verify")
def verify(
    conn: ConnDep,
    user: AdminUser,
    expect_head: Annotated[str | None, Query(pattern=r"^[0-9a-fA-F]{64}$")] = None,
) -> dict[str, Any]:
    """Re-derive the hash chain; ``ok`` false lists every edited, inserted or removed entry."""
    return audit.verify(conn, expect_head=expect_head).as_dict()


@router.get("/{entity_type}/{entity_id}")
def history(
    conn: ConnDep,
    user: Analyst,
    entity_type: Annotated[str, Path(max_length=40, pattern=r"^[a-z_]+$")],
    entity_id: Annotated[str, Path(max_length=100)],
) -> list[dict[str, Any]]:
    """Every audited change of one entity (e.g. ``asset/A001``), oldest first."""
    return audit.history(conn, entity_type, entity_id)
