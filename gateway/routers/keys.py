"""API keys (admin only) and ``/api/me`` (any key)."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter

from gateway import auth
from gateway.deps import AdminUser, ConnDep, CurrentUser
from gateway.schemas import KeyIn, KeyOut, Me, NewKeyOut

router = APIRouter(prefix="/api", tags=["access"])


@router.get("/me", response_model=Me)
def me(user: CurrentUser) -> dict[str, Any]:
    """Who the key belongs to and its role."""
    return dataclasses.asdict(user)


@router.get("/keys", response_model=list[KeyOut])
def list_keys(conn: ConnDep, user: AdminUser) -> list[dict[str, Any]]:
    """Every API key (ids, roles and names; never secrets)."""
    return [dataclasses.asdict(k) for k in auth.list_keys(conn)]


@router.post("/keys", response_model=NewKeyOut, status_code=201)
def create_key(conn: ConnDep, user: AdminUser, body: KeyIn) -> dict[str, Any]:
    """Create a key; the token in the answer is its only copy."""
    return dataclasses.asdict(auth.create_key(conn, role=body.role, name=body.name))


@router.delete("/keys/{key_id}", status_code=204)
def revoke_key(conn: ConnDep, user: AdminUser, key_id: str) -> None:
    """Revoke a key at once."""
    auth.revoke_key(conn, key_id)
