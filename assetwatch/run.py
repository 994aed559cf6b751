"""``assetwatch run``: the production entry point, one process running one or more roles.

Roles (``--role``, repeatable; all three by default):

- ``ingest`` — MQTT → database, with the streaming detectors as its commit
  hook so their state is checkpointed in the same transaction as the readings;
- ``detect`` — the scheduled (windowed) detectors over the rollups, plus the
  publisher of alert events to MQTT (``assetwatch/alerts/{level}/{asset_id}``);
- ``serve`` — the HTTP gateway (API, live feed, webhooks, dashboard).

Each role is a long-lived thread under a :class:`Supervisor`: if it raises (or
returns without being asked to stop) the failure is logged with its traceback
and the role is started again after a backoff that doubles up to 30 s and
resets once the role has stayed up for a minute. SIGINT/SIGTERM set one stop
event that every role watches; a second signal exits at once. Spreading roles
over processes and machines is described in docs/deploy.md.
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType
from typing import Final

import click

from assetwatch.errors import RunError
from assetwatch.mqtt import target_from_settings
from assetwatch.settings import Settings
from telemetry.db import Conn, connect, database_url
from telemetry.sqlfiles import query

log = logging.getLogger(__name__)

RoleFn = Callable[[Settings, threading.Event, threading.Event], None]
"""A role: ``(settings, stop_event, ready_event)``; blocks until ``stop_event`` is set."""

ROLES: Final = ("ingest", "detect", "serve")
DEFAULT_COMMIT_HOOK: Final = "alerts.streaming:commit_hook"
MAX_BACKOFF_S: Final = 30.0
HEALTHY_AFTER_S: Final = 60.0


def with_default_hook(settings: Settings) -> Settings:
    """Settings whose ingest runs the streaming detectors unless a hook was configured.

    ``ASSETWATCH_INGEST_COMMIT_HOOK=""`` (empty) turns the detectors off.
    """
    if settings.ingest_commit_hook is not None:
        return settings
    module_name = DEFAULT_COMMIT_HOOK.partition(":")[0]
    try:
        importlib.import_module(module_name)
    except ImportError:
        log.warning("streaming detectors unavailable (%s cannot be imported)", module_name)
        return settings
    return settings.model_copy(update={"ingest_commit_hook": DEFAULT_COMMIT_HOOK})


def run_ingest(settings: Settings, stop: threading.Event, ready: threading.Event) -> None:
    """The ingest role: one :class:`ingest.service.IngestService` until ``stop``."""
    from ingest.service import IngestService, load_commit_hook

    service = IngestService(settings, commit_hook=load_commit_hook(settings))
    service.run(stop, ready)


def detect_clock(conn: Conn, settings: Settings) -> datetime:
    """The time a windowed pass runs at (see ``settings.detect_clock``)."""
    wall = datetime.now(UTC)
    if settings.detect_clock == "wall":
        return wall
    row = conn.execute(query("assetwatch", "event_clock")).fetchone()
    newest = row[0] if row else None
    return min(wall, newest) if isinstance(newest, datetime) else wall


def run_detect(settings: Settings, stop: threading.Event, ready: threading.Event) -> None:
    """The detect role: a windowed pass every ``detect_interval_s`` until ``stop``.

    Each pass runs in its own transaction; a failed pass is rolled back and
    raised, so the supervisor logs it and starts the role again.
    """
    from alerts.windowed import run_pass
    from telemetry.rollups import refresh_timescale

    url = database_url(settings)
    with connect(url, application_name="assetwatch-detect") as conn:
        ready.set()
        while not stop.is_set():
            try:
                # TimescaleDB: fold late data into the aggregate and forget the
                # late-data marks first (outside a transaction, so before any query).
                refresh_timescale(conn)
                now = detect_clock(conn, settings)
                report = run_pass(conn, settings, now)
                conn.commit()
            except Exception:
                conn.rollback()
                raise
            log.info(
                "windowed pass at %s: %d devices, %d signals, %d alert changes",
                now.isoformat(timespec="seconds"),
                report.devices,
                report.signals,
                len(report.changes),
            )
            stop.wait(settings.detect_interval_s)


def run_alert_publisher(settings: Settings, stop: threading.Event, ready: threading.Event) -> None:
    """Part of the detect role: alert events to MQTT (``assetwatch/alerts/{level}/{asset}``).

    The alerts package's outbox publisher tails ``alert_events`` from a saved
    cursor; a broker or database failure raises and the supervisor restarts it.
    """
    from alerts.publish import AlertPublisher

    with connect(database_url(settings), application_name="assetwatch-alerts-publish") as conn:
        publisher = AlertPublisher(settings)
        ready.set()
        publisher.run(conn, stop)


def run_serve(settings: Settings, stop: threading.Event, ready: threading.Event) -> None:
    """The serve role: the gateway on ``http_host:http_port`` until ``stop``."""
    from gateway.app import start_in_thread

    running = start_in_thread(settings)
    log.info("gateway listening on %s", running.url)
    ready.set()
    try:
        while not stop.wait(0.5):
            if not running.thread.is_alive():
                raise RunError("the gateway server thread exited")
    finally:
        running.stop()


ROLE_FUNCTIONS: Final[dict[str, RoleFn]] = {
    "ingest": run_ingest,
    "detect": run_detect,
    "serve": run_serve,
    "publish": run_alert_publisher,
}
#: Roles that bring helpers along: ``detect`` also publishes alert events.
COMPANIONS: Final[dict[str, tuple[str, ...]]] = {"detect": ("publish",)}


@dataclass
class Supervisor:
    """Runs one role in a thread, restarting it with backoff until ``stop`` is set."""

    name: str
    fn: RoleFn
    settings: Settings
    stop: threading.Event
    ready: threading.Event = field(default_factory=threading.Event)
    restarts: int = 0
    last_error: str | None = None
    thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._loop, name=f"role-{self.name}", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        backoff = 1.0
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                self.fn(self.settings, self.stop, self.ready)
                if self.stop.is_set():
                    break
                self.last_error = "returned without being asked to stop"
                log.error("role %s %s; restarting in %.0f s", self.name, self.last_error, backoff)
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("role %s failed; restarting in %.0f s", self.name, backoff)
            if self.stop.is_set():
                break
            self.restarts += 1
            if time.monotonic() - started > HEALTHY_AFTER_S:
                backoff = 1.0
            self.stop.wait(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)
        log.info("role %s stopped", self.name)

    def join(self, timeout: float) -> bool:
        """Wait for the role to finish; whether it did."""
        if self.thread is None:
            return True
        self.thread.join(timeout)
        return not self.thread.is_alive()


def start_roles(
    settings: Settings,
    roles: Iterable[str],
    stop: threading.Event,
    *,
    functions: dict[str, RoleFn] | None = None,
) -> list[Supervisor]:
    """Start a supervised thread per role (unknown names are refused before anything starts)."""
    table = functions or ROLE_FUNCTIONS
    names = list(dict.fromkeys(roles))
    if functions is None:
        names = list(dict.fromkeys(n for r in names for n in (r, *COMPANIONS.get(r, ()))))
    unknown = [r for r in names if r not in table]
    if unknown:
        raise RunError(f"unknown role(s) {', '.join(unknown)}; choose from {', '.join(table)}")
    sups = [Supervisor(name, table[name], settings, stop) for name in names]
    for sup in sups:
        sup.start()
    return sups


def stop_roles(sups: Sequence[Supervisor], stop: threading.Event, *, timeout: float = 30) -> bool:
    """Signal every role and wait for all of them; whether all finished in time."""
    stop.set()
    deadline = time.monotonic() + timeout
    ok = True
    for sup in sups:
        if not sup.join(max(0.1, deadline - time.monotonic())):
            log.warning("role %s did not stop within %.0f s", sup.name, timeout)
            ok = False
    return ok


def install_signal_handlers(stop: threading.Event) -> None:
    """First SIGINT/SIGTERM: stop cleanly; a second one: exit at once."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            log.warning("second %s: exiting now", signal.Signals(signum).name)
            os._exit(128 + signum)
        log.info("%s: stopping (send again to exit at once)", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def check_external(settings: Settings, roles: Sequence[str]) -> None:
    """``run`` needs an external database, and a broker for ingest/detect; say which is missing."""
    if not settings.database_url:
        raise RunError(
            "ASSETWATCH_DATABASE_URL is not set (`assetwatch run` uses external servers; "
            "`assetwatch demo` starts embedded ones)"
        )
    if {"ingest", "detect"} & set(roles):
        if not settings.mqtt_url:
            raise RunError("ASSETWATCH_MQTT_URL is not set (mqtt://user:pass@host:port)")
        target_from_settings(settings)


def run_until_stopped(
    settings: Settings,
    roles: Sequence[str],
    stop: threading.Event,
    *,
    on_ready: Callable[[list[Supervisor]], None] | None = None,
) -> list[Supervisor]:
    """Start ``roles``, call ``on_ready`` once all are ready, block until ``stop``, stop them."""
    sups = start_roles(settings, roles, stop)
    announced = False
    try:
        while not stop.wait(0.2):
            if not announced and all(s.ready.is_set() for s in sups):
                announced = True
                log.info("all roles ready: %s", ", ".join(s.name for s in sups))
                if on_ready is not None:
                    on_ready(sups)
    finally:
        stop_roles(sups, stop)
    return sups


@click.command()
@click.option(
    "--role",
    "roles",
    type=click.Choice(ROLES),
    multiple=True,
    help="Role(s) to run in this process (repeatable); all of them by default.",
)
@click.pass_context
def run(ctx: click.Context, roles: tuple[str, ...]) -> None:
    """Run ingest, detectors and the gateway against an external broker and database.

    Configuration comes from ASSETWATCH_* variables (DATABASE_URL and MQTT_URL
    are required). SIGINT/SIGTERM stop cleanly; see docs/deploy.md for
    spreading roles over processes and machines.
    """
    from assetwatch.cli import settings_of

    chosen = list(roles) or list(ROLES)
    settings = with_default_hook(settings_of(ctx))
    try:
        check_external(settings, chosen)
    except RunError as exc:
        raise click.ClickException(str(exc)) from exc
    stop = threading.Event()
    install_signal_handlers(stop)
    log.info("assetwatch run: roles %s", ", ".join(chosen))
    sups = run_until_stopped(settings, chosen, stop)
    failed = [s.name for s in sups if s.thread is not None and s.thread.is_alive()]
    if failed:
        raise click.ClickException(f"role(s) did not stop in time: {', '.join(failed)}")
