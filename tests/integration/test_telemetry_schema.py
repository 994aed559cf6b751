"""Schema init is idempotent; `db init` and `status --json` report what they should."""

from __future__ import annotations

import json

import psycopg
import pytest
from click.testing import CliRunner

from assetwatch.cli import cli
from telemetry.schema import migrate

pytestmark = pytest.mark.integration


def _objects(url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT relname, relkind FROM pg_class WHERE relnamespace = 'public'::regnamespace"
            " ORDER BY 1"
        ).fetchall()


def test_migrate_twice_is_a_no_op(empty_db_url: str) -> None:
    with psycopg.connect(empty_db_url) as conn:
        first = migrate(conn, use_timescaledb=False)
    before = _objects(empty_db_url)
    with psycopg.connect(empty_db_url) as conn:
        second = migrate(conn, use_timescaledb=False)
    assert "0001_readings" in first.applied
    assert "0002_hourly_rollups.plain" in first.applied
    assert second.applied == ()
    assert _objects(empty_db_url) == before


def test_db_init_cli_twice(empty_db_url: str) -> None:
    runner = CliRunner()
    env = {"ASSETWATCH_DATABASE_URL": empty_db_url}
    first = runner.invoke(cli, ["db", "init", "--no-timescaledb", "--json"], env=env)
    assert first.exit_code == 0, first.output
    doc = json.loads(first.output)
    assert doc["timescaledb"] is False
    assert doc["applied"]
    assert any("BRIN" in f for f in doc["features"])
    second = runner.invoke(cli, ["db", "init"], env=env)
    assert second.exit_code == 0, second.output
    assert "schema already up to date" in second.output
    assert "plain PostgreSQL" in second.output


def test_status_json_fields(db_url: str) -> None:
    from assetwatch.settings import Settings
    from telemetry.deadletters import DeadLetter, dead_letter
    from telemetry.store import ReadingWriter
    from tests.factories import make_reading

    with psycopg.connect(db_url) as conn:
        ReadingWriter(Settings()).write(conn, [make_reading(), make_reading(device_id="dev-2")])
        dead_letter(conn, DeadLetter(reason="x", stage="decode"))
        conn.commit()
    result = CliRunner().invoke(cli, ["status", "--json"], env={"ASSETWATCH_DATABASE_URL": db_url})
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert isinstance(doc["timescaledb"], bool)
    assert (doc["devices"], doc["readings"], doc["dead_letters"]) == (2, 2, 1)
    assert doc["quarantined"] == 0
    assert set(doc["alerts_open"]) == {"red", "orange", "yellow", "watch"}
