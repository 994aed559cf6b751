"""API keys with roles: creation, hashing, lookup and revocation.

A key looks like ``awk_<key_id>_<secret>``. Only ``sha256(secret)`` is stored:
the secret is 32 random bytes, so a fast hash is enough (no dictionary attack
is possible) and lookups stay cheap on every request. The full key is shown
once, when it is created, and never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal, get_args

from gateway.errors import BadRequest, NotFound, Unauthorized
from telemetry.db import Conn
from telemetry.sqlfiles import query

Role = Literal["admin", "post_loan", "credit", "provisioner"]
ROLES: Final[tuple[str, ...]] = get_args(Role)
PREFIX: Final = "awk_"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key's public id, its role and its name."""

    key_id: str
    role: str
    name: str


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A stored key as listings show it (never the secret)."""

    key_id: str
    role: str
    name: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True)
class NewKey:
    """A freshly created key: ``token`` is the only copy of the secret."""

    key_id: str
    role: str
    name: str
    token: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_token(token: str) -> tuple[str, str]:
    """``(key_id, secret)`` of a token, or :class:`Unauthorized` naming the format."""
    if not token.startswith(PREFIX):
        raise Unauthorized("API key must look like awk_<id>_<secret>")
    key_id, sep, secret = token[len(PREFIX) :].partition("_")
    if not sep or not key_id or not secret or len(key_id) > 32 or len(secret) > 128:
        raise Unauthorized("API key must look like awk_<id>_<secret>")
    return key_id, secret


def create_key(conn: Conn, *, role: str, name: str) -> NewKey:
    """Store a new key for ``role`` and return it with its one-time token (caller commits)."""
    if role not in ROLES:
        raise BadRequest(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    if not name.strip() or len(name) > 200:
        raise BadRequest("key name must be 1-200 characters")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32).replace("_", "-")
    conn.execute(
        query("gateway", "key_insert"),
        {"key_id": key_id, "secret_hash": _hash(secret), "role": role, "name": name},
    )
    return NewKey(key_id=key_id, role=role, name=name, token=f"{PREFIX}{key_id}_{secret}")


def authenticate(conn: Conn, token: str) -> Principal:
    """The principal a token stands for, or :class:`Unauthorized` (never says which part failed)."""
    key_id, secret = split_token(token)
    row = conn.execute(query("gateway", "key_lookup"), {"key_id": key_id}).fetchone()
    if row is None or not hmac.compare_digest(str(row[0]), _hash(secret)):
        raise Unauthorized("unknown or revoked API key")
    return Principal(key_id=key_id, role=str(row[1]), name=str(row[2]))


def list_keys(conn: Conn) -> list[KeyInfo]:
    """Every key, newest first."""
    return [KeyInfo(*row) for row in conn.execute(query("gateway", "key_list"))]


def revoke_key(conn: Conn, key_id: str) -> None:
    """Revoke a key so it no longer authenticates (caller commits)."""
    row = conn.execute(query("gateway", "key_revoke"), {"key_id": key_id}).fetchone()
    if row is None:
        raise NotFound(f"no active API key {key_id!r}")
