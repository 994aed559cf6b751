"""``assetwatch gateway ...`` (API keys, webhooks) and ``assetwatch serve`` (run the HTTP API)."""

from __future__ import annotations

import dataclasses
import json

import click

from assetwatch.cli import settings_of
from gateway import auth
from gateway.auth import ROLES
from gateway.errors import GatewayError
from telemetry.db import connection
from telemetry.errors import TelemetryError


@click.group()
def gateway() -> None:
    """Manage the HTTP gateway: API keys and webhooks."""


@gateway.group()
def key() -> None:
    """Create, list and revoke API keys."""


@key.command("create")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the key may do.")
@click.option("--name", required=True, help="Who or what uses the key (shown in listings).")
@click.option("--json", "as_json", is_flag=True, help="Print the key as JSON.")
@click.pass_context
def key_create(ctx: click.Context, role: str, name: str, as_json: bool) -> None:
    """Create a key and print its token (shown once; only its hash is stored)."""
    try:
        with connection(settings_of(ctx)) as conn:
            new = auth.create_key(conn, role=role, name=name)
            conn.commit()
    except (GatewayError, TelemetryError) as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(new)))
    else:
        click.echo(new.token)


@key.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the keys as JSON lines.")
@click.pass_context
def key_list(ctx: click.Context, as_json: bool) -> None:
    """List keys (ids, roles, names; never secrets)."""
    try:
        with connection(settings_of(ctx)) as conn:
            keys = auth.list_keys(conn)
    except TelemetryError as exc:
        raise click.ClickException(str(exc)) from exc
    for k in keys:
        if as_json:
            click.echo(json.dumps(dataclasses.asdict(k), default=str))
        else:
            state = "revoked" if k.revoked_at else "active"
            click.echo(f"{k.key_id}  {k.role:<11} {state:<7} {k.name}")


@key.command("revoke")
@click.argument("key_id")
@click.pass_context
def key_revoke(ctx: click.Context, key_id: str) -> None:
    """Revoke a key by its id."""
    try:
        with connection(settings_of(ctx)) as conn:
            auth.revoke_key(conn, key_id)
            conn.commit()
    except (GatewayError, TelemetryError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"revoked {key_id}")


@click.command()
@click.option("--host", default=None, help="Listen address (default ASSETWATCH_HTTP_HOST).")
@click.option("--port", type=int, default=None, help="Port (default ASSETWATCH_HTTP_PORT).")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Run the HTTP API, live feed, webhooks and dashboard."""
    from gateway.app import serve as run

    settings = settings_of(ctx)
    overrides = {k: v for k, v in (("http_host", host), ("http_port", port)) if v is not None}
    if overrides:
        settings = settings.model_copy(update=overrides)
    try:
        run(settings)
    except TelemetryError as exc:
        raise click.ClickException(str(exc)) from exc
