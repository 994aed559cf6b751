"""``assetwatch gateway key ...``: keys created on the command line work against the API."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from assetwatch.cli import cli
from tests.support.gateway import auth, gateway_client

pytestmark = pytest.mark.integration


def test_key_create_list_revoke(db_url: str) -> None:
    runner = CliRunner()
    env = {"ASSETWATCH_DATABASE_URL": db_url}
    made = runner.invoke(
        cli, ["gateway", "key", "create", "--role", "credit", "--name", "ana", "--json"], env=env
    )
    assert made.exit_code == 0, made.output
    key = json.loads(made.output)
    assert key["role"] == "credit"
    listed = runner.invoke(cli, ["gateway", "key", "list"], env=env)
    assert key["key_id"] in listed.output
    assert key["token"] not in listed.output
    with gateway_client(db_url) as client:
        assert client.get("/api/me", headers=auth(key["token"])).json()["name"] == "ana"
    bad = runner.invoke(cli, ["gateway", "key", "create", "--role", "boss", "--name", "x"], env=env)
    assert bad.exit_code != 0
    assert "boss" in bad.output
    revoked = runner.invoke(cli, ["gateway", "key", "revoke", key["key_id"]], env=env)
    assert revoked.exit_code == 0
    again = runner.invoke(cli, ["gateway", "key", "revoke", key["key_id"]], env=env)
    assert again.exit_code != 0
    assert "no active API key" in again.output
