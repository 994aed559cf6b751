"""``assetwatch db ...``: schema management."""

from __future__ import annotations

import json

import click

from assetwatch.cli import settings_of
from telemetry.db import connection
from telemetry.errors import TelemetryError
from telemetry.policies import apply_policies
from telemetry.schema import migrate


@click.group()
def db() -> None:
    """Create or upgrade the database schema."""


@db.command("init")
@click.option(
    "--timescaledb/--no-timescaledb",
    "use_ts",
    default=None,
    help="Force the TimescaleDB layout on or off (default: use it when the server has it).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def init(ctx: click.Context, use_ts: bool | None, as_json: bool) -> None:
    """Create or upgrade the schema (idempotent) and say which features are in use."""
    settings = settings_of(ctx)
    try:
        with connection(settings) as conn:
            report = migrate(conn, use_timescaledb=use_ts)
            features = apply_policies(conn, settings)
    except TelemetryError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(
            json.dumps(
                {
                    "timescaledb": report.timescaledb,
                    "timescaledb_version": report.timescaledb_version,
                    "applied": list(report.applied),
                    "schema_version": report.schema_version,
                    "features": list(features),
                }
            )
        )
        return
    mode = (
        f"TimescaleDB {report.timescaledb_version} active"
        if report.timescaledb
        else "TimescaleDB not available: plain PostgreSQL layout"
    )
    click.echo(mode)
    click.echo(
        "applied: " + ", ".join(report.applied) if report.applied else "schema already up to date"
    )
    click.echo(f"schema version {report.schema_version}")
    for feature in features:
        click.echo(f"  - {feature}")
