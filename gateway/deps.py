"""FastAPI dependencies as ``Annotated`` aliases: settings, pool, connection, caller, roles."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from psycopg_pool import ConnectionPool

from assetwatch.settings import Settings
from gateway.auth import Principal, authenticate
from gateway.errors import Forbidden, Unauthorized
from telemetry.db import Conn

COOKIE_NAME = "aw_key"


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_pool(request: Request) -> ConnectionPool[Conn]:
    """The pool opened in the lifespan."""
    pool: ConnectionPool[Conn] = request.app.state.pool
    return pool


SettingsDep = Annotated[Settings, Depends(get_settings)]
PoolDep = Annotated[ConnectionPool[Conn], Depends(get_pool)]


def get_conn(pool: PoolDep) -> Iterator[Conn]:
    """One pooled connection for the request; committed when the endpoint returns normally."""
    with pool.connection() as conn:
        yield conn


ConnDep = Annotated[Conn, Depends(get_conn)]


def _token(request: Request) -> str | None:
    auth = request.headers.get("authorization")
    if auth:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthorized("Authorization header must be 'Bearer <API key>'")
        return value.strip()
    return request.headers.get("x-api-key") or request.cookies.get(COOKIE_NAME)


def get_principal(request: Request, pool: PoolDep) -> Principal:
    """The caller, from ``Authorization: Bearer``, ``X-API-Key`` or the dashboard cookie.

    Uses its own short-lived connection so long streams (the live feed) hold none.
    """
    token = _token(request)
    if not token:
        raise Unauthorized("an API key is required (Authorization: Bearer <key> or X-API-Key)")
    with pool.connection() as conn:
        return authenticate(conn, token)


CurrentUser = Annotated[Principal, Depends(get_principal)]


def require(*roles: str) -> Callable[[Principal], Principal]:
    """A dependency admitting ``admin`` and the given roles, refusing everyone else with 403."""
    allowed = frozenset(("admin", *roles))

    def check(user: CurrentUser) -> Principal:
        if user.role not in allowed:
            names = ", ".join(sorted(allowed))
            raise Forbidden(f"role {user.role!r} may not use this endpoint (allowed: {names})")
        return user

    return check


# Role aliases used by the routers: one line per access rule.
AdminUser = Annotated[Principal, Depends(require())]
RegistryReader = Annotated[Principal, Depends(require("post_loan", "credit", "provisioner"))]
Provisioner = Annotated[Principal, Depends(require("provisioner"))]
TelemetryReader = Annotated[Principal, Depends(require("post_loan", "credit"))]
PostLoan = Annotated[Principal, Depends(require("post_loan"))]
Credit = Annotated[Principal, Depends(require("credit"))]
Analyst = Annotated[Principal, Depends(require("post_loan", "credit"))]
Operator = Annotated[Principal, Depends(require("provisioner"))]
