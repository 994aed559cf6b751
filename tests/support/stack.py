"""Processes and data for the run/e2e tests: ``assetwatch run`` subprocesses, a tiny registry."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from collateral.document import load_json
from collateral.registry import import_document


def registry_doc(device_ids: list[str]) -> dict[str, Any]:
    """One borrower, one loan, one vehicle asset per terminal, pledged, with a zone each."""
    start = "2026-01-01T00:00:00Z"
    doc: dict[str, Any] = {
        "format": "assetwatch-registry/1",
        "borrowers": [
            {
                "id": "B1",
                "name": "Test Logistics",
                "industry": "logistics",
                "region": "CN-31",
                "officer": "tester",
            }
        ],
        "loans": [
            {
                "id": "L1",
                "borrower_id": "B1",
                "amount": 100000,
                "currency": "CNY",
                "product": "equipment_loan",
                "start": "2026-01-01",
                "end": "2028-01-01",
                "status": "active",
            }
        ],
        "assets": [],
        "terminals": [],
        "bindings": [],
        "pledges": [],
        "zones": [],
        "device_profiles": [],
    }
    for n, dev in enumerate(device_ids):
        aid = f"A-{dev}"
        doc["assets"].append(
            {
                "id": aid,
                "borrower_id": "B1",
                "class": "vehicle",
                "name": f"Truck {n}",
                "identity": {"vin": f"LFWADRJF0110{n:05d}", "plate": f"沪A{n:05d}"},
                "declared": {
                    "base": {"name": "Depot", "lat": 31.2, "lon": 121.4},
                    "region": "CN-31",
                },
                "stationary": False,
            }
        )
        doc["terminals"].append(
            {"device_id": dev, "protocol": "json", "expected_interval_s": 30, "satellite": False}
        )
        doc["bindings"].append(
            {"device_id": dev, "asset_id": aid, "from": start, "by": "test", "why": "install"}
        )
        doc["pledges"].append(
            {"asset_id": aid, "loan_id": "L1", "from": start, "by": "test", "why": "loan"}
        )
        doc["zones"].append(
            {
                "id": f"Z-{dev}",
                "asset_id": aid,
                "kind": "pledged",
                "name": "Shanghai",
                "buffer_m": 200,
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [[121.0, 31.0], [122.0, 31.0], [122.0, 31.6], [121.0, 31.6], [121.0, 31.0]]
                    ],
                },
            }
        )
    return doc


def import_registry(db_url: str, doc: Mapping[str, Any]) -> None:
    """Apply a registry document with the collateral import function."""
    with psycopg.connect(db_url) as conn:
        import_document(conn, load_json(json.dumps(doc)), actor="test", allow_conflicts=True)
        conn.commit()


def reading(device_id: str, seq: int, *, t0: datetime | None = None, **kw: Any) -> bytes:
    """A JSON reading one minute after the previous ``seq`` (event time in the recent past)."""
    base = t0 or datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
    body: dict[str, Any] = {
        "ts": (base + timedelta(minutes=seq)).isoformat().replace("+00:00", "Z"),
        "seq": seq,
        "lat": 31.2 + seq * 1e-5,
        "lon": 121.4,
        "speed_kmh": 30.0,
        "ignition": True,
        "engine_hours": 100 + seq / 60,
        "battery_v": 12.6,
        "ext_power": True,
    }
    body.update(kw)
    return json.dumps(body).encode()


def count(db_url: str, sql: str, params: tuple[Any, ...] = ()) -> int:
    with psycopg.connect(db_url, connect_timeout=3) as conn:
        row = conn.execute(sql, params).fetchone()
        return int(row[0]) if row else 0


def wait_until(pred: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)


def spawn_run(roles: list[str], env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``assetwatch run --role ...`` as a subprocess of its own session, logging to ``log``."""
    args = [sys.executable, "-c", "from assetwatch.cli import main; main()", "run"]
    for r in roles:
        args += ["--role", r]
    full_env = {**os.environ, **env}
    with log.open("ab") as fh:
        return subprocess.Popen(
            args, env=full_env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True
        )


def terminate(proc: subprocess.Popen[bytes], timeout: float = 30) -> int:
    """SIGTERM and wait; the exit code (raises if it does not stop in time)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout)
