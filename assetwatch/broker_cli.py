"""``assetwatch broker``: provision terminal credentials and generate the broker's auth files."""

from __future__ import annotations

import json
from pathlib import Path

import click

from assetwatch.broker_auth import (
    load_terminal_credentials,
    provision_terminals,
    write_broker_files,
)
from assetwatch.cli import settings_of
from assetwatch.errors import BrokerAuthError
from telemetry.db import connection
from telemetry.errors import TelemetryError


@click.group()
def broker() -> None:
    """Per-terminal MQTT credentials and ACLs generated from the registry (docs/security.md)."""


@broker.command("config")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory for passwd, acl, services.secrets and mosquitto.conf.",
)
@click.option("--bind", default="127.0.0.1", show_default=True, help="Listener address.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
@click.pass_context
def config(ctx: click.Context, out_dir: Path, bind: str, as_json: bool) -> None:
    """Write Mosquitto's password file and ACL from the registry's terminals.

    Terminals publish only under assetwatch/{device_id}/ and subscribe to
    nothing; service accounts (svc@ingest, svc@detect, ...) get their roles'
    topics. Rerun after provisioning, then reload the broker (kill -HUP).
    """
    try:
        with connection(settings_of(ctx)) as conn:
            terminals = load_terminal_credentials(conn)
        files, _ = write_broker_files(out_dir, terminals, hostname=bind)
    except (TelemetryError, BrokerAuthError) as exc:
        raise click.ClickException(str(exc)) from exc
    summary = {
        "out": str(out_dir),
        "terminals": files.terminals,
        "without_secret": list(files.without_secret),
        "files": ["passwd", "acl", "services.secrets", "mosquitto.conf"],
    }
    if as_json:
        click.echo(json.dumps(summary))
        return
    click.echo(f"wrote {out_dir}/passwd, acl, services.secrets, mosquitto.conf")
    click.echo(f"terminals with credentials: {files.terminals}")
    if files.without_secret:
        click.echo(
            f"{len(files.without_secret)} terminal(s) have no credentials and cannot connect; "
            "run `assetwatch broker provision DEVICE_ID ...`",
            err=True,
        )


@broker.command("provision")
@click.argument("device_ids", nargs=-1, required=True)
@click.option("--rotate", is_flag=True, help="Replace existing credentials.")
@click.option("--json", "as_json", is_flag=True, help="Print {device_id: secret} as JSON.")
@click.pass_context
def provision(ctx: click.Context, device_ids: tuple[str, ...], rotate: bool, as_json: bool) -> None:
    """Generate a secret per terminal, store only its hash, and print the secrets ONCE."""
    try:
        with connection(settings_of(ctx)) as conn:
            secrets = provision_terminals(conn, list(device_ids), rotate=rotate)
            conn.commit()
    except (TelemetryError, BrokerAuthError) as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(secrets))
        return
    click.echo("# MQTT username = device id; these secrets are not stored and not shown again")
    for device_id, secret in secrets.items():
        click.echo(f"{device_id}\t{secret}")
