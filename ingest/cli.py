"""``assetwatch ingest``: run the MQTT ingest; ``assetwatch ingest release``: free quarantine."""

from __future__ import annotations

import json
import logging
import signal
import threading
from types import FrameType

import click

from assetwatch.cli import settings_of
from assetwatch.errors import AssetwatchError
from ingest.errors import IngestError
from ingest.quarantine import release as release_quarantine
from ingest.service import load_commit_hook, run_ingest
from telemetry.errors import TelemetryError

log = logging.getLogger(__name__)


@click.group(invoke_without_command=True)
@click.option("--client-id", default=None, help="MQTT client id (default: settings).")
@click.option("--shared-group", default=None, help="Share the subscriptions with this group.")
@click.pass_context
def ingest(ctx: click.Context, client_id: str | None, shared_group: str | None) -> None:
    """Take telemetry from MQTT into the database (runs until SIGINT/SIGTERM).

    Subscribes with QoS 1 on a persistent session to assetwatch/+/telemetry,
    .../jt808, .../ais, .../aemp and ChirpStack's application/+/device/+/event/up;
    acknowledges each message only after its readings are committed.
    """
    if ctx.invoked_subcommand is not None:
        return
    settings = settings_of(ctx)
    if shared_group:
        settings = settings.model_copy(update={"ingest_shared_group": shared_group})
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: finishing the current batch and stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        stats = run_ingest(
            settings,
            commit_hook=load_commit_hook(settings),
            stop_event=stop,
            client_id=client_id,
        )
    except (IngestError, TelemetryError, AssetwatchError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps({"messages": stats.messages, "readings": stats.readings_written}))


@ingest.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def release(ctx: click.Context, as_json: bool) -> None:
    """Re-run quarantined messages whose terminals are now registered."""
    settings = settings_of(ctx)
    try:
        report = release_quarantine(settings, commit_hook=load_commit_hook(settings))
    except (IngestError, TelemetryError) as exc:
        raise click.ClickException(str(exc)) from exc
    doc = {
        "released": report.released,
        "still_unknown": report.still_unknown,
        "readings": report.readings,
        "rejected": report.rejected,
    }
    click.echo(json.dumps(doc) if as_json else ", ".join(f"{k}: {v}" for k, v in doc.items()))
