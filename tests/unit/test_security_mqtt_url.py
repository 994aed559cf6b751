"""MQTT URL parsing and the broker credential/ACL generator (no servers needed)."""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from assetwatch.broker_auth import (
    TerminalCredential,
    build_broker_files,
    hash_secret,
    verify_secret,
)
from assetwatch.errors import BrokerAuthError, MqttUrlError
from assetwatch.mqtt import parse_mqtt_url


@pytest.mark.parametrize(
    ("url", "host", "port", "tls", "user", "password"),
    [
        ("mqtt://127.0.0.1", "127.0.0.1", 1883, False, None, None),
        ("mqtts://broker.example", "broker.example", 8883, True, None, None),
        ("mqtt://u:p@h:1900", "h", 1900, False, "u", "p"),
        ("mqtts://svc%40ingest:p%40ss@h:8884", "h", 8884, True, "svc@ingest", "p@ss"),
        ("tcp://h", "h", 1883, False, None, None),
    ],
)
def test_parse_mqtt_url(
    url: str, host: str, port: int, tls: bool, user: str | None, password: str | None
) -> None:
    t = parse_mqtt_url(url)
    assert (t.host, t.port, t.tls, t.username, t.password) == (host, port, tls, user, password)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("", "empty"),
        ("http://h", "scheme"),
        ("mqtt://", "no host"),
        ("mqtt://h:99999", "port"),
        ("mqtt://h/assetwatch", "path"),
    ],
)
def test_bad_mqtt_urls_are_named(url: str, problem: str) -> None:
    with pytest.raises(MqttUrlError, match=problem):
        parse_mqtt_url(url)


def test_url_masks_password() -> None:
    assert parse_mqtt_url("mqtt://u:secret@h").url() == "mqtt://u:***@h:1883"


def test_hash_is_mosquitto_pbkdf2_sha512() -> None:
    salt = b"0123456789ab"
    h = hash_secret("s3cret", salt=salt)
    _, seven, iterations, b64salt, b64digest = h.split("$")
    assert (seven, iterations) == ("7", "101")
    assert base64.b64decode(b64salt) == salt
    assert base64.b64decode(b64digest) == hashlib.pbkdf2_hmac("sha512", b"s3cret", salt, 101)
    assert verify_secret("s3cret", h)
    assert not verify_secret("s3cret!", h)
    assert not verify_secret("s3cret", "plain-text")


def test_hash_verifies_against_mosquitto_passwd(tmp_path: Path) -> None:
    tool = shutil.which("mosquitto_passwd")
    if tool is None:
        pytest.skip("mosquitto_passwd is not installed")
    pw = tmp_path / "pw"
    subprocess.run([tool, "-b", "-c", str(pw), "dev1", "from-the-tool"], check=True)
    stored = pw.read_text().strip().split(":", 1)[1]
    assert verify_secret("from-the-tool", stored)


def test_generated_files() -> None:
    files = build_broker_files(
        [TerminalCredential("T2", hash_secret("b")), TerminalCredential("T1", hash_secret("a"))],
        {"svc@ingest": hash_secret("i")},
    )
    names = [line.split(":", 1)[0] for line in files.passwd.splitlines()]
    assert names == ["T1", "T2", "svc@ingest"]
    assert "pattern write assetwatch/%u/#" in files.acl
    assert "pattern read" not in files.acl
    assert "user svc@ingest\ntopic read assetwatch/#" in files.acl


@pytest.mark.parametrize(
    ("cred", "problem"),
    [
        (TerminalCredential("a/b", "x"), "does not match"),
        (TerminalCredential("dev+1", "x"), "does not match"),
        (TerminalCredential("alerts", "x"), "reserved"),
        (TerminalCredential("T1", "sha256:abc"), r"not a Mosquitto \$7\$ hash"),
    ],
)
def test_unsafe_terminals_refused(cred: TerminalCredential, problem: str) -> None:
    with pytest.raises(BrokerAuthError, match=problem):
        build_broker_files([cred], {})


def test_unknown_service_refused() -> None:
    with pytest.raises(BrokerAuthError, match="unknown service"):
        build_broker_files([], {"svc@root": hash_secret("x")})
