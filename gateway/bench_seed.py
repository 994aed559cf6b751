"""The gateway benchmark's data: a scratch database seeded with assets, readings and alerts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from assetwatch.settings import Settings
from gateway.auth import create_key
from telemetry.schema import migrate
from telemetry.sqlfiles import query

KINDS = (
    "zone_exit",
    "relocation",
    "moved_while_parked",
    "idle",
    "decline",
    "offline",
    "tamper",
    "spoofing",
    "fabrication",
    "double_pledge",
)
LEVELS = ("red", "orange", "yellow", "watch")
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def bench_query(name: str) -> Any:
    return query("gateway", name, "bench.sql")


@contextmanager
def bench_database(settings: Settings) -> Iterator[str]:
    admin = settings.database_url or "postgresql://postgres@127.0.0.1:5432/postgres"
    name = f"aw_bench_gateway_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_conninfo(admin, dbname=name)
    try:
        with psycopg.connect(url) as conn:
            migrate(conn)
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def seed(url: str, assets: int, alerts: int) -> str:
    """Registry of ``assets`` equipment assets with a terminal each, their latest state and
    ``alerts`` alerts; returns an admin API token."""
    from collateral.document import parse_document
    from collateral.registry import import_document
    from telemetry.model import Reading
    from telemetry.store import ReadingWriter

    borrowers = [
        {
            "id": f"B{b:04d}",
            "name": f"Borrower {b}",
            "industry": ("logistics", "farming", "fishing", "construction")[b % 4],
            "region": f"CN-{11 + b % 20}",
            "officer": f"officer.{b % 12}",
        }
        for b in range(max(1, assets // 50))
    ]
    nb = len(borrowers)
    doc = {
        "format": "assetwatch-registry/1",
        "borrowers": borrowers,
        "loans": [
            {
                "id": f"L{i:05d}",
                "borrower_id": f"B{i % nb:04d}",
                "amount": 100000 + i,
                "currency": "CNY",
                "product": ("equipment_loan", "working_capital")[i % 2],
                "start": "2026-01-01",
                "end": "2028-01-01",
                "status": "active",
            }
            for i in range(nb * 2)
        ],
        "assets": [
            {
                "id": f"A{i:05d}",
                "borrower_id": f"B{i % nb:04d}",
                "class": "equipment",
                "name": f"Machine {i}",
                "identity": {"serial": f"SN{i:06d}"},
            }
            for i in range(assets)
        ],
        "terminals": [
            {"device_id": f"D{i:05d}", "protocol": "json", "expected_interval_s": 60}
            for i in range(assets)
        ],
        "bindings": [
            {
                "device_id": f"D{i:05d}",
                "asset_id": f"A{i:05d}",
                "from": "2026-01-01T00:00:00Z",
                "by": "bench",
                "why": "installation",
            }
            for i in range(assets)
        ],
        "pledges": [
            {
                "asset_id": f"A{i:05d}",
                "loan_id": f"L{(i % nb) * 2:05d}",
                "from": "2026-01-01T00:00:00Z",
                "by": "bench",
                "why": "origination",
            }
            for i in range(assets)
        ],
    }
    with psycopg.connect(url) as conn:
        import_document(conn, parse_document(doc), actor="bench")
        readings = [
            Reading(
                device_id=f"D{i:05d}",
                ts=T0 + timedelta(seconds=i),
                seq=1,
                lat=30 + (i % 100) * 0.05,
                lon=110 + (i // 100) * 0.05,
                speed_kmh=0.0,
                engine_on=False,
                engine_hours=100.0 + i,
                source="json",
            )
            for i in range(assets)
        ]
        ReadingWriter(Settings(database_url=url)).write(conn, readings)
        with conn.cursor() as cur, cur.copy(bench_query("copy_alerts")) as copy:
            for i in range(alerts):
                asset = i % assets
                kind = KINDS[(i // assets) % len(KINDS)]
                level = LEVELS[i % 4]
                status = ("open", "open", "acknowledged")[i % 3] if i % 10 < 3 else "resolved"
                seen = T0 + timedelta(seconds=i * 7)
                copy.write_row(
                    (
                        f"A{asset:05d}",
                        f"D{asset:05d}",
                        kind,
                        level,
                        level,
                        status,
                        seen - timedelta(hours=1),
                        seen,
                        "{}",
                    )
                )
        conn.execute(bench_query("analyze"))
        token = create_key(conn, role="admin", name="bench").token
        conn.commit()
    return token
