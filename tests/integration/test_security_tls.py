"""``mqtts://`` end to end: Mosquitto TLS listener, CA generated here, clients via settings."""

from __future__ import annotations

import socket
import ssl
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
from assetwatch.errors import MqttUrlError
from assetwatch.mqtt import parse_mqtt_url, tls_context
from assetwatch.settings import Settings, load_settings
from tests.support.mosquitto import Client, MosquittoServer, current_user
from tests.support.tlsca import TlsFiles, make_ca_and_server_cert

pytestmark = pytest.mark.integration

SECRET = "tls-terminal-secret"


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[tuple[MosquittoServer, TlsFiles, dict[str, str]]]:
    tls = make_ca_and_server_cert(tmp_path / "pki")
    auth = tmp_path / "auth"
    _, services = write_broker_files(auth, [TerminalCredential("term-T", hash_secret(SECRET))])
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        mosquitto_conf(
            auth,
            port=0,
            tls_port=port,
            cafile=tls.ca,
            certfile=tls.cert,
            keyfile=tls.key,
            run_as=current_user(),
        )
    )
    server = MosquittoServer(conf, port)
    server.start()
    try:
        yield server, tls, services
    finally:
        server.stop()


def test_mqtts_round_trip_with_generated_ca(
    tls_broker: tuple[MosquittoServer, TlsFiles, dict[str, str]],
) -> None:
    server, tls, services = tls_broker
    settings = load_settings(mqtt_ca_file=tls.ca)
    sub = Client(
        parse_mqtt_url(f"mqtts://svc%40ingest:{services['svc@ingest']}@localhost:{server.port}"),
        settings,
    )
    pub = Client(parse_mqtt_url(f"mqtts://term-T:{SECRET}@127.0.0.1:{server.port}"), settings)
    try:
        assert sub.connect().value == 0
        sub.subscribe("assetwatch/+/telemetry")
        assert pub.connect().value == 0
        pub.publish("assetwatch/term-T/telemetry", b'{"ts": 1}')
        msg = sub.messages.get(timeout=10)
        assert msg.payload == b'{"ts": 1}'
    finally:
        pub.close()
        sub.close()


def test_mqtts_refuses_untrusted_server(
    tls_broker: tuple[MosquittoServer, TlsFiles, dict[str, str]], settings: Settings
) -> None:
    """Without the CA (system trust store only), the self-signed broker is not trusted."""
    server, _, _ = tls_broker
    target = parse_mqtt_url(f"mqtts://term-T:{SECRET}@127.0.0.1:{server.port}")
    ctx = tls_context(target, settings)
    assert ctx is not None
    with (
        socket.create_connection((target.host, target.port), timeout=5) as raw,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        ctx.wrap_socket(raw, server_hostname=target.host).close()


def test_plain_client_cannot_talk_to_tls_listener(
    tls_broker: tuple[MosquittoServer, TlsFiles, dict[str, str]],
) -> None:
    """A plaintext MQTT CONNECT to the TLS port gets no CONNACK."""
    server, _, _ = tls_broker
    connect = b"\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00"
    with socket.create_connection(("127.0.0.1", server.port), timeout=3) as raw:
        raw.sendall(connect)
        try:
            reply = raw.recv(4)
        except (TimeoutError, ConnectionResetError):
            reply = b""
    assert not reply.startswith(b"\x20"), "broker answered plaintext MQTT on its TLS port"


def test_bad_tls_files_are_named(tmp_path: Path) -> None:
    target = parse_mqtt_url("mqtts://h")
    with pytest.raises(MqttUrlError, match="CA_FILE"):
        tls_context(target, load_settings(mqtt_ca_file=tmp_path / "missing.pem"))
    with pytest.raises(MqttUrlError, match="must be set together"):
        tls_context(target, load_settings(mqtt_cert_file=tmp_path / "c.pem"))
