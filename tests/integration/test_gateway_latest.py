"""The incrementally refreshed latest-state document always equals a full rebuild."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from assetwatch.settings import Settings
from gateway.latest import LatestCache
from telemetry.db import Conn
from telemetry.model import Reading
from telemetry.sqlfiles import query
from telemetry.store import ReadingWriter
from tests.support.gateway import T0, db, seed_registry

pytestmark = pytest.mark.integration


def reference(conn: Conn) -> Any:
    row = conn.execute(query("gateway", "latest_json"), {"asset_ids": None}).fetchone()
    assert row is not None
    return json.loads(row[0])


def write(conn: Conn, url: str, device: str, minutes: int, lon: float) -> None:
    reading = Reading(
        device_id=device, ts=T0 + timedelta(minutes=minutes), lat=31.0, lon=lon, source="json"
    )
    ReadingWriter(Settings(database_url=url)).write(conn, [reading])


def test_incremental_refresh_matches_full_rebuild(db_url: str) -> None:
    cache = LatestCache()
    with db(db_url) as conn, db(db_url) as other, db(db_url) as reader:
        seed_registry(conn)
        write(conn, db_url, "T001", 1, 121.1)
        write(conn, db_url, "T002", 1, 122.1)
        conn.commit()
        assert json.loads(cache.document(reader)) == reference(reader)
        assert cache.full_builds == 1

        write(conn, db_url, "T001", 2, 121.2)
        conn.commit()
        got = json.loads(cache.document(reader))
        assert got == reference(reader)
        assert got[0]["lon"] == 121.2
        assert cache.incremental == 1

        # A transaction still open while a later one commits: its row must be
        # picked up once it commits, though its id is older than the last read.
        write(other, db_url, "T002", 3, 122.3)
        write(conn, db_url, "T001", 3, 121.3)
        conn.commit()
        assert json.loads(cache.document(reader)) == reference(reader)
        other.commit()
        got = json.loads(cache.document(reader))
        assert got == reference(reader)
        assert got[1]["lon"] == 122.3
        assert cache.full_builds == 1

        assert json.loads(cache.document(reader, ["A002", "nope"])) == [got[1]]

        # A binding change rebuilds everything.
        from collateral.registry import unbind

        unbind(conn, "T002", at=T0 + timedelta(days=1), by="test", why="removed")
        conn.commit()
        got = json.loads(cache.document(reader))
        assert got == reference(reader)
        assert [s["asset_id"] for s in got] == ["A001"]
        assert cache.full_builds == 2
