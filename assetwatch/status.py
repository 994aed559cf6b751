"""``assetwatch status``: what the system holds, for people and scripts."""

from __future__ import annotations

import json
from typing import Any

import click

from assetwatch.cli import settings_of
from telemetry.db import Conn, connection
from telemetry.errors import TelemetryError
from telemetry.schema import timescaledb_version
from telemetry.sqlfiles import query

LEVELS = ("red", "orange", "yellow", "watch")


def collect_status(conn: Conn) -> dict[str, Any]:
    """The status document: the fields the interface contract names, and more."""
    row = conn.execute(query("assetwatch", "status_counts")).fetchone()
    assert row is not None
    quarantined = 0
    has_quarantine = conn.execute(query("assetwatch", "status_has_quarantine")).fetchone()
    if has_quarantine and has_quarantine[0]:
        q = conn.execute(query("assetwatch", "status_quarantined")).fetchone()
        quarantined = int(q[0]) if q else 0
    alerts_open = dict.fromkeys(LEVELS, 0)
    has_alerts = conn.execute(query("assetwatch", "status_has_alerts")).fetchone()
    if has_alerts and has_alerts[0]:
        for level, count in conn.execute(query("assetwatch", "status_alerts_open")):
            alerts_open[str(level)] = int(count)
    version = timescaledb_version(conn)
    return {
        "timescaledb": version is not None,
        "timescaledb_version": version,
        "devices": int(row[0]),
        "readings": int(row[1]),
        "dead_letters": int(row[2]),
        "quarantined": quarantined,
        "alerts_open": alerts_open,
    }


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status as one JSON object.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Counts of devices, readings, rejects and open alerts."""
    try:
        with connection(settings_of(ctx)) as conn:
            doc = collect_status(conn)
    except TelemetryError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(doc))
        return
    ts = f"TimescaleDB {doc['timescaledb_version']}" if doc["timescaledb"] else "plain PostgreSQL"
    click.echo(f"database: {ts}")
    for key in ("devices", "readings", "dead_letters", "quarantined"):
        click.echo(f"{key}: {doc[key]}")
    click.echo("open alerts: " + ", ".join(f"{lvl} {n}" for lvl, n in doc["alerts_open"].items()))
