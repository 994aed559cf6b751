"""The whole device-security chain with real servers and the real ingest process.

registry → ``assetwatch broker provision`` (secret printed once, hash stored)
→ ``assetwatch broker config`` (passwd + acl) → Mosquitto with a TLS listener
(CA made here) → ``assetwatch run --role ingest`` over ``mqtts://`` as
``svc@ingest`` → a terminal publishing with its secret is stored; the same
terminal publishing under another terminal's topic is not.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from assetwatch.broker_auth import load_service_secrets, mosquitto_conf, verify_secret
from assetwatch.cli import cli
from assetwatch.embedded import free_port
from assetwatch.mqtt import parse_mqtt_url
from assetwatch.settings import load_settings
from tests.support.mosquitto import Client, MosquittoServer, current_user
from tests.support.stack import (
    count,
    import_registry,
    reading,
    registry_doc,
    spawn_run,
    terminate,
    wait_until,
)
from tests.support.tlsca import make_ca_and_server_cert

pytestmark = pytest.mark.integration


def test_provisioned_terminals_through_tls_broker_into_ingest(db_url: str, tmp_path: Path) -> None:
    dev_a, dev_b = (f"sec-{uuid.uuid4().hex[:6]}-{n}" for n in "ab")
    import_registry(db_url, registry_doc([dev_a, dev_b]))
    runner = CliRunner()
    env = {"ASSETWATCH_DATABASE_URL": db_url}

    res = runner.invoke(cli, ["broker", "provision", dev_a, dev_b, "--json"], env=env)
    assert res.exit_code == 0, res.output
    secrets = json.loads(res.output)
    assert set(secrets) == {dev_a, dev_b}
    with psycopg.connect(db_url) as conn:
        rows = conn.execute("SELECT device_id, secret_hash FROM terminals").fetchall()
        stored: dict[str, str] = {str(d): str(h) for d, h in rows}
    assert verify_secret(secrets[dev_a], stored[dev_a])
    assert secrets[dev_a] not in str(stored)
    again = runner.invoke(cli, ["broker", "provision", dev_a], env=env)
    assert again.exit_code != 0
    assert "already has credentials" in again.output

    auth = tmp_path / "auth"
    res = runner.invoke(cli, ["broker", "config", "--out", str(auth), "--json"], env=env)
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["terminals"] == 2
    services = load_service_secrets(auth / "services.secrets")

    tls = make_ca_and_server_cert(tmp_path / "pki")
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
    broker = MosquittoServer(conf, port)
    broker.start()
    log = tmp_path / "ingest.log"
    ingest = spawn_run(
        ["ingest"],
        {
            "ASSETWATCH_DATABASE_URL": db_url,
            "ASSETWATCH_MQTT_URL": f"mqtts://svc%40ingest:{services['svc@ingest']}@localhost:{port}",
            "ASSETWATCH_MQTT_CA_FILE": str(tls.ca),
            "ASSETWATCH_INGEST_CLIENT_ID": f"sec-ingest-{uuid.uuid4().hex[:6]}",
            "ASSETWATCH_INGEST_COMMIT_HOOK": "",
        },
        log,
    )
    settings = load_settings(mqtt_ca_file=tls.ca)
    term = Client(parse_mqtt_url(f"mqtts://{dev_a}:{secrets[dev_a]}@localhost:{port}"), settings)
    try:
        wait_until(lambda: "all roles ready" in log.read_text(), 60, "ingest over mqtts")
        assert term.connect().value == 0
        for seq in range(5):
            term.publish(f"assetwatch/{dev_a}/telemetry", reading(dev_a, seq))
        wait_until(
            lambda: (
                count(db_url, "SELECT count(*) FROM readings WHERE device_id = %s", (dev_a,)) == 5
            ),
            30,
            "terminal A's readings",
        )
        term.client.publish(f"assetwatch/{dev_b}/telemetry", reading(dev_b, 1), qos=1)
        term.close()
        honest = Client(
            parse_mqtt_url(f"mqtts://{dev_a}:{secrets[dev_a]}@localhost:{port}"), settings
        )
        assert honest.connect().value == 0
        honest.publish(f"assetwatch/{dev_a}/telemetry", reading(dev_a, 99))
        honest.close()
        wait_until(
            lambda: (
                count(db_url, "SELECT count(*) FROM readings WHERE device_id = %s", (dev_a,)) == 6
            ),
            30,
            "terminal A's last reading",
        )
        assert count(db_url, "SELECT count(*) FROM readings WHERE device_id = %s", (dev_b,)) == 0
        assert count(db_url, "SELECT count(*) FROM quarantine") == 0
    finally:
        term.close()
        rc = terminate(ingest)
        broker.stop()
    assert rc == 0, log.read_text()[-3000:]
