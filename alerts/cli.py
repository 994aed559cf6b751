"""``assetwatch evaluate``: detection quality against ground truth."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from alerts.errors import AlertsError
from alerts.evaluation import detections_from_db, load_truth, score
from assetwatch.cli import settings_of
from telemetry.db import connection, database_url
from telemetry.errors import TelemetryError
from telemetry.sqlfiles import query


def _horizon(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an RFC 3339 time", param_hint="--until"
        ) from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


@click.command()
@click.option(
    "--truth",
    "truth_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="ground truth (JSON lines) to score the alerts in the database against",
)
@click.option(
    "--preset",
    help="simulate this scenario preset in a scratch database and score it "
    "(eval-small, eval, demo ...)",
)
@click.option(
    "--fleet",
    default="vehicle=20,ship=5,farm=5,equipment=10",
    show_default=True,
    help="fleet of the simulated run (--preset)",
)
@click.option(
    "--days",
    type=float,
    default=28.0,
    show_default=True,
    help="simulated days (--preset); windowed detectors need ~2 weeks of baseline",
)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--assets", type=int, help="asset count for false alarms per asset-day (--truth)")
@click.option("--until", help="end of the scored period (--truth; default now)")
@click.option(
    "--pass-every-s",
    type=float,
    default=3600.0,
    show_default=True,
    help="simulated seconds between windowed passes (--preset)",
)
@click.option("--keep", is_flag=True, help="keep the scratch database (--preset)")
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
@click.pass_context
def evaluate(
    ctx: click.Context,
    truth_path: Path | None,
    preset: str | None,
    fleet: str,
    days: float,
    seed: int,
    assets: int | None,
    until: str | None,
    pass_every_s: float,
    keep: bool,
    as_json: bool,
) -> None:
    """Precision, recall, time to detect and false alarms per detector kind.

    With --truth, the alerts already in the database are matched to the truth
    file. With --preset, a whole run happens in-process: simulate, ingest with
    the streaming detectors, windowed passes over simulated time, then score.
    """
    settings = settings_of(ctx)
    if (truth_path is None) == (preset is None):
        raise click.UsageError("give exactly one of --truth FILE or --preset NAME")
    try:
        if preset is not None:
            from alerts.evalrun import evaluate_simulation
            from simulators import SimConfig, SimulatorError

            try:
                report, _stats, _truth = evaluate_simulation(
                    database_url(settings), settings,
                    SimConfig(fleet=fleet, days=days, seed=seed, scenario=preset),
                    pass_every=timedelta(seconds=pass_every_s), keep=keep,
                )  # fmt: skip
            except SimulatorError as exc:
                raise click.ClickException(str(exc)) from exc
        else:
            assert truth_path is not None
            truth = load_truth(truth_path)
            with connection(settings) as conn:
                detections = detections_from_db(conn)
                if assets is None:
                    row = conn.execute(query("alerts", "asset_count")).fetchone()
                    assets = int(row[0]) if row else 0
            horizon = _horizon(until)
            start = min((t.start for t in truth), default=horizon)
            span_days = max((horizon - start).total_seconds() / 86400.0, 1.0)
            report = score(truth, detections, asset_days=assets * span_days, horizon=horizon)
    except (AlertsError, TelemetryError) as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(report.as_dict(), default=str))
        return
    click.echo(report.table())
    if report.extra:
        click.echo(json.dumps(report.extra, default=str))
