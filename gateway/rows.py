"""Running the gateway's named queries and returning rows as dicts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from psycopg.rows import dict_row

from telemetry.db import Conn
from telemetry.sqlfiles import query


def fetch_all(conn: Conn, name: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """All rows of the gateway query ``name`` as dicts."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query("gateway", name), params)
        return cur.fetchall()


def fetch_one(conn: Conn, name: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
    """The first row of the gateway query ``name`` as a dict, or None."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query("gateway", name), params)
        return cur.fetchone()
