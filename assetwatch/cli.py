"""The ``assetwatch`` console script.

Subcommands live beside the code they drive and are imported only when used,
so ``assetwatch --help`` stays fast and one package's import cost is not paid
by another's command. Each entry maps a command name to ``module:attribute``.
"""

from __future__ import annotations

import logging
import sys
from typing import Final

import click

from assetwatch.lazy import LazyGroup
from assetwatch.settings import Settings, load_settings

COMMANDS: Final[dict[str, tuple[str, str]]] = {
    # name: (module:attribute, one-line help shown by `assetwatch --help`)
    "db": ("telemetry.cli:db", "Create or upgrade the database schema."),
    "status": ("assetwatch.status:status", "Counts of devices, readings, rejects and open alerts."),
    "bench": ("assetwatch.bench:bench", "Run a benchmark (store, ingest, ...)."),
    "registry": ("collateral.cli:registry", "Import/export the collateral registry; conflicts."),
    "audit": ("collateral.cli:audit", "Verify the tamper-evident audit chain."),
    "provenance": ("collateral.cli:provenance", "Provenance report of an asset; verify one."),
    "ingest": ("ingest.cli:ingest", "Take telemetry from MQTT into the database."),
    "simulate": ("simulators.cli:simulate", "Simulate terminal fleets with scripted incidents."),
    "broker": ("assetwatch.broker_cli:broker", "Terminal MQTT credentials and broker ACLs."),
    "run": ("assetwatch.run:run", "Run ingest, detectors and gateway (production entry point)."),
    "demo": ("assetwatch.demo:demo", "Start a self-contained demo on embedded servers."),
    "gateway": ("gateway.cli:gateway", "Manage the HTTP gateway: API keys and webhooks."),
    "serve": ("gateway.cli:serve", "Run the HTTP API, live alert feed and dashboard."),
    "evaluate": ("alerts.cli:evaluate", "Score alerts against ground truth (or a simulated run)."),
}


@click.group(
    cls=LazyGroup,
    lazy_commands=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(package_name="assetwatch")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """IoT collateral monitoring: telemetry, provenance and post-loan alerts.

    Configuration comes from ASSETWATCH_* environment variables
    (see docs/configuration.md).
    """
    settings = load_settings()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    ctx.obj = settings


def settings_of(ctx: click.Context) -> Settings:
    """The settings object built once by the root command."""
    root = ctx.find_root()
    if not isinstance(root.obj, Settings):
        root.obj = load_settings()
    return root.obj


def main() -> None:
    """Entry point of the console script."""
    cli()
