"""Helpers for the gateway tests: a seeded registry, keys per role, alerts and a client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from assetwatch.settings import Settings
from collateral.document import parse_document
from collateral.registry import import_document
from gateway.app import create_app
from gateway.auth import ROLES, create_key
from telemetry.db import Conn, connect

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

REGISTRY: dict[str, Any] = {
    "format": "assetwatch-registry/1",
    "borrowers": [
        {
            "id": "B001",
            "name": "Huadong Logistics",
            "industry": "logistics",
            "region": "CN-31",
            "officer": "li.wei",
        },
        {
            "id": "B002",
            "name": "Zhoushan Fisheries",
            "industry": "fishing",
            "region": "CN-33",
            "officer": "wang.fang",
        },
    ],
    "loans": [
        {
            "id": "L001",
            "borrower_id": "B001",
            "amount": 1200000,
            "currency": "CNY",
            "product": "equipment_loan",
            "start": "2026-01-01",
            "end": "2028-01-01",
            "status": "active",
        },
        {
            "id": "L002",
            "borrower_id": "B002",
            "amount": 800000,
            "currency": "CNY",
            "product": "ship_mortgage",
            "start": "2026-01-01",
            "end": "2029-01-01",
            "status": "active",
        },
    ],
    "assets": [
        {
            "id": "A001",
            "borrower_id": "B001",
            "class": "vehicle",
            "name": "Truck 沪A12345",
            "identity": {"vin": "LFWADRJF011002346", "plate": "沪A12345"},
            "declared": {"base": {"name": "Depot", "lat": 31.2, "lon": 121.4}, "region": "CN-31"},
            "stationary": False,
        },
        {
            "id": "A002",
            "borrower_id": "B002",
            "class": "ship",
            "name": "Zhe Dai Yu 01",
            "identity": {"mmsi": "412345678"},
            "declared": {},
            "stationary": False,
        },
    ],
    "terminals": [
        {"device_id": "T001", "protocol": "json", "expected_interval_s": 30},
        {"device_id": "T002", "protocol": "ais", "mmsi": "412345678", "expected_interval_s": 600},
    ],
    "bindings": [
        {
            "device_id": "T001",
            "asset_id": "A001",
            "from": "2026-01-01T00:00:00Z",
            "by": "seed",
            "why": "installation",
        },
        {
            "device_id": "T002",
            "asset_id": "A002",
            "from": "2026-01-01T00:00:00Z",
            "by": "seed",
            "why": "installation",
        },
    ],
    "pledges": [
        {
            "asset_id": "A001",
            "loan_id": "L001",
            "from": "2026-01-01T00:00:00Z",
            "by": "seed",
            "why": "loan origination",
        },
        {
            "asset_id": "A002",
            "loan_id": "L002",
            "from": "2026-01-01T00:00:00Z",
            "by": "seed",
            "why": "loan origination",
        },
    ],
    "zones": [
        {
            "id": "Z001",
            "asset_id": "A001",
            "kind": "pledged",
            "name": "Shanghai operating area",
            "buffer_m": 200,
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [[121.0, 31.0], [122.0, 31.0], [122.0, 31.6], [121.0, 31.6], [121.0, 31.0]]
                ],
            },
        },
    ],
}


def seed_registry(conn: Conn, doc: dict[str, Any] | None = None) -> None:
    """Import the small test registry (two borrowers, loans, assets, terminals) and commit."""
    import_document(conn, parse_document(doc or REGISTRY), actor="seed")
    conn.commit()


def write_track(
    conn: Conn,
    db_url: str,
    *,
    device_id: str = "T001",
    start: datetime = T0,
    n: int = 60,
    step_s: int = 60,
) -> None:
    """``n`` readings of a truck driving east from the depot, one every ``step_s`` (committed)."""
    from telemetry.model import Reading
    from telemetry.store import ReadingWriter

    readings = [
        Reading(
            device_id=device_id,
            ts=start + timedelta(seconds=i * step_s),
            seq=i + 1,
            lat=31.2,
            lon=121.4 + i * 0.001,
            speed_kmh=40.0,
            ignition=True,
            engine_on=True,
            engine_hours=1000 + i * step_s / 3600,
            source="json",
        )
        for i in range(n)
    ]
    ReadingWriter(Settings(database_url=db_url)).write(conn, readings)
    conn.commit()


def keys_by_role(conn: Conn) -> dict[str, str]:
    """One fresh API token per role (committed)."""
    tokens = {role: create_key(conn, role=role, name=f"test-{role}").token for role in ROLES}
    conn.commit()
    return tokens


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def insert_alert(
    conn: Conn,
    *,
    asset_id: str = "A001",
    kind: str = "zone_exit",
    level: str = "orange",
    status: str = "open",
    last_seen: datetime | None = None,
    event: str = "raised",
) -> int:
    """An alert and its feed event written the way the alerts package writes them (committed)."""
    seen = last_seen or T0
    row = conn.execute(
        """INSERT INTO alerts (asset_id, device_id, kind, level, peak_level, status,
                               first_seen, last_seen, evidence)
           VALUES (%s, 'T001', %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
        (
            asset_id,
            kind,
            level,
            level,
            status,
            seen - timedelta(minutes=10),
            seen,
            json.dumps(
                {"thresholds": {"buffer_m": 200}, "readings": [{"lat": 31.9, "lon": 121.2}]}
            ),
        ),
    ).fetchone()
    assert row is not None
    add_event(conn, int(row[0]), event)
    return int(row[0])


def add_event(conn: Conn, alert_id: int, event: str) -> int:
    """Append one feed event for an alert (committed)."""
    row = conn.execute(
        """INSERT INTO alert_events (alert_id, event, event_ts, asset_id, kind, level, status)
           SELECT id, %s, last_seen, asset_id, kind, level, status FROM alerts WHERE id = %s
           RETURNING id""",
        (event, alert_id),
    ).fetchone()
    conn.commit()
    assert row is not None
    return int(row[0])


@contextmanager
def gateway_client(db_url: str, **overrides: Any) -> Iterator[TestClient]:
    """A TestClient on a gateway app for ``db_url`` (lifespan run; webhooks off unless asked)."""
    start_webhooks = bool(overrides.pop("start_webhooks", False))
    settings = Settings(database_url=db_url, db_pool_min=1, db_pool_max=4, **overrides)
    with TestClient(create_app(settings, start_webhooks=start_webhooks)) as client:
        yield client


@contextmanager
def db(db_url: str) -> Iterator[Conn]:
    conn = connect(db_url)
    try:
        yield conn
    finally:
        conn.close()
