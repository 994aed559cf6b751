"""Device security against a real Mosquitto run from the generated password and ACL files."""

from __future__ import annotations

import queue
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from assetwatch.broker_auth import (
    TerminalCredential,
    hash_secret,
    mosquitto_conf,
    write_broker_files,
)
from assetwatch.embedded import free_port
from assetwatch.mqtt import MqttTarget
from assetwatch.settings import Settings
from tests.support.mosquitto import Client, MosquittoServer, current_user

pytestmark = pytest.mark.integration

SECRET_A = "secret-of-terminal-a"
SECRET_B = "secret-of-terminal-b"


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[tuple[MosquittoServer, dict[str, str]]]:
    """Mosquitto with auth+ACL generated for terminals A and B (and C, never provisioned)."""
    terminals = [
        TerminalCredential("term-A", hash_secret(SECRET_A)),
        TerminalCredential("term-B", hash_secret(SECRET_B)),
        TerminalCredential("term-C", None),
    ]
    auth = tmp_path / "auth"
    files, services = write_broker_files(auth, terminals)
    assert files.terminals == 2
    assert files.without_secret == ("term-C",)
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(mosquitto_conf(auth, port=port, run_as=current_user()))
    server = MosquittoServer(conf, port)
    server.start()
    try:
        yield server, services
    finally:
        server.stop()


def _target(port: int, user: str | None, password: str | None) -> MqttTarget:
    return MqttTarget("127.0.0.1", port, False, user, password)


def _ingest(server: MosquittoServer, services: dict[str, str], settings: Settings) -> Client:
    client = Client(_target(server.port, "svc@ingest", services["svc@ingest"]), settings)
    assert client.connect().value == 0
    codes = client.subscribe("assetwatch/+/telemetry")
    assert all(c.value < 0x80 for c in codes)
    return client


def test_terminal_cannot_publish_as_another(
    secured: tuple[MosquittoServer, dict[str, str]], settings: Settings
) -> None:
    server, services = secured
    ingest = _ingest(server, services, settings)
    forger = Client(_target(server.port, "term-A", SECRET_A), settings)
    honest = Client(_target(server.port, "term-A", SECRET_A), settings)
    try:
        assert forger.connect().value == 0
        forged = f"forged-{uuid.uuid4().hex}"
        # Mosquitto 2 drops the denied PUBLISH and closes the connection; either
        # way the message must not reach the subscriber.
        forger.client.publish("assetwatch/term-B/telemetry", forged, qos=1)
        time.sleep(0.5)
        forger.close()
        assert honest.connect().value == 0
        honest.publish("assetwatch/term-A/telemetry", "own")
        got = ingest.messages.get(timeout=10)
        assert (got.topic, got.payload) == ("assetwatch/term-A/telemetry", b"own")
        with pytest.raises(queue.Empty):
            ingest.messages.get(timeout=0.5)
    finally:
        honest.close()
        ingest.close()


def test_terminal_cannot_subscribe(
    secured: tuple[MosquittoServer, dict[str, str]], settings: Settings
) -> None:
    server, _ = secured
    term_b = Client(_target(server.port, "term-B", SECRET_B), settings)
    try:
        assert term_b.connect().value == 0
        for topic in ("assetwatch/#", "assetwatch/term-B/#", "#"):
            codes = term_b.subscribe(topic)
            # Mosquitto grants the SUBSCRIBE but the read ACL check drops every
            # message; prove nothing arrives, whatever the SUBACK says.
            assert len(codes) == 1
        term_b.publish("assetwatch/term-B/telemetry", "echo")
        with pytest.raises(queue.Empty):
            term_b.messages.get(timeout=1.0)
    finally:
        term_b.close()


@pytest.mark.parametrize(
    ("user", "password"),
    [
        ("stranger", "whatever"),  # unknown client
        ("term-A", "wrong-secret"),  # wrong secret
        ("term-C", "anything"),  # registered but never provisioned
        (None, None),  # anonymous
    ],
)
def test_unknown_or_wrong_credentials_cannot_connect(
    secured: tuple[MosquittoServer, dict[str, str]],
    settings: Settings,
    user: str | None,
    password: str | None,
) -> None:
    server, _ = secured
    client = Client(_target(server.port, user, password), settings)
    try:
        rc = client.connect()
        assert rc.is_failure, f"{user!r} was let in"
    finally:
        client.close()


def test_ingest_shared_subscription_allowed(
    secured: tuple[MosquittoServer, dict[str, str]], settings: Settings
) -> None:
    server, services = secured
    ingest = Client(_target(server.port, "svc@ingest", services["svc@ingest"]), settings)
    term_a = Client(_target(server.port, "term-A", SECRET_A), settings)
    try:
        assert ingest.connect().value == 0
        ingest.subscribe("$share/workers/assetwatch/+/telemetry")
        assert term_a.connect().value == 0
        term_a.publish("assetwatch/term-A/telemetry", "shared")
        assert ingest.messages.get(timeout=10).payload == b"shared"
    finally:
        term_a.close()
        ingest.close()


def test_service_secrets_are_reused_and_private(tmp_path: Path) -> None:
    _, first = write_broker_files(tmp_path, [])
    _, second = write_broker_files(tmp_path, [])
    assert first == second
    for name in ("passwd", "acl", "services.secrets"):
        assert (tmp_path / name).stat().st_mode & 0o077 == 0
