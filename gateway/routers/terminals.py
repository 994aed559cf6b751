"""Terminals and bindings: read by every role, changed by provisioners and admins."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from gateway import registry_ops
from gateway.deps import ConnDep, Provisioner, RegistryReader
from gateway.errors import NotFound
from gateway.pagination import Page, PageDep, make_page
from gateway.rows import fetch_all, fetch_one
from gateway.schemas import Binding, BindingIn, Terminal, TerminalIn, UnbindIn

Filter = Annotated[str | None, Query(max_length=100)]

terminals = APIRouter(prefix="/api/terminals", tags=["registry"])
bindings = APIRouter(prefix="/api/bindings", tags=["registry"])


@terminals.get("", response_model=Page[Terminal])
def list_terminals(
    conn: ConnDep, user: RegistryReader, page: PageDep, protocol: Filter = None
) -> Page[Any]:
    """Terminals, filtered by protocol."""
    rows = fetch_all(
        conn,
        "terminals_page",
        {"protocol": protocol, "limit": page.limit + 1, "offset": page.offset},
    )
    return make_page(rows, page)


@terminals.get("/{device_id}", response_model=Terminal)
def get_terminal(
    conn: ConnDep,
    user: RegistryReader,
    device_id: str,
) -> dict[str, Any]:
    """One terminal (its secret hash is never returned)."""
    row = fetch_one(conn, "terminal_get", {"id": device_id})
    if row is None:
        raise NotFound(f"no terminal {device_id!r}")
    return row


@terminals.post("", response_model=Terminal, status_code=201)
def create_terminal(conn: ConnDep, user: Provisioner, body: TerminalIn) -> dict[str, Any]:
    """Register a terminal (audited); its quarantined readings can then be released."""
    registry_ops.create(conn, "terminal", body.model_dump(), actor=user.name)
    row = fetch_one(conn, "terminal_get", {"id": body.device_id})
    assert row is not None
    return row


@bindings.get("", response_model=Page[Binding])
def list_bindings(
    conn: ConnDep,
    user: RegistryReader,
    page: PageDep,
    asset_id: Filter = None,
    device_id: Filter = None,
    active: bool = False,
) -> Page[Any]:
    """Bindings (history included unless ``active``), by asset or terminal."""
    rows = fetch_all(
        conn,
        "bindings_page",
        {
            "asset_id": asset_id,
            "device_id": device_id,
            "active": active,
            "limit": page.limit + 1,
            "offset": page.offset,
        },
    )
    return make_page(rows, page)


@bindings.post("", response_model=Binding, status_code=201)
def create_binding(conn: ConnDep, user: Provisioner, body: BindingIn) -> dict[str, Any]:
    """Bind a terminal to an asset (409 if the terminal is bound to another asset)."""
    registry_ops.bind(
        conn, body.device_id, body.asset_id, at=body.valid_from, actor=user.name, why=body.reason
    )
    return _newest(conn, body.device_id)


@bindings.post("/unbind", response_model=Binding)
def unbind(conn: ConnDep, user: Provisioner, body: UnbindIn) -> dict[str, Any]:
    """Close the terminal's open binding (kept as history)."""
    registry_ops.unbind(conn, body.device_id, at=body.valid_to, actor=user.name, why=body.reason)
    return _newest(conn, body.device_id)


def _newest(conn: ConnDep, device_id: str) -> dict[str, Any]:
    rows = fetch_all(
        conn,
        "bindings_page",
        {"asset_id": None, "device_id": device_id, "active": False, "limit": 1000, "offset": 0},
    )
    return max(rows, key=lambda r: r["valid_from"])
