"""The FastAPI application factory, its lifespan, error handlers and a uvicorn runner.

``create_app(settings)`` builds an app whose lifespan opens one connection pool
and starts the webhook dispatcher; nothing is global, so tests and the demo can
run several apps side by side. ``serve(settings)`` runs one with uvicorn and
``start_in_thread(settings)`` runs one in the background (demo, e2e tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg
import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from psycopg_pool import ConnectionPool

from assetwatch.settings import Settings
from gateway.errors import GatewayError
from gateway.feed import FeedHub
from gateway.latest import LatestCache
from gateway.webhooks import WebhookDispatcher
from telemetry.db import Conn, open_pool
from telemetry.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

API_DESCRIPTION = """\
HTTP API of assetwatch: registry, telemetry, alerts with a live feed,
provenance reports, portfolio concentration, audit chain, dead letters and
quarantine. Every endpoint needs an API key (`Authorization: Bearer awk_...`
or `X-API-Key`); each key has one role: `admin`, `post_loan`, `credit` or
`provisioner`.
"""


def _status_for(exc: Exception) -> int:
    """HTTP status for an error raised by another package (matched by its class)."""
    if isinstance(exc, GatewayError):
        return exc.status
    if isinstance(exc, DatabaseUnavailable | psycopg.OperationalError):
        return 503
    names = [cls.__name__ for cls in type(exc).__mro__]
    if any(n.endswith("NotFound") for n in names):
        return 404
    if any(n in ("InvalidTransition", "DoublePledgeError", "Conflict") for n in names) or any(
        n.endswith(("Conflict", "Exists")) for n in names
    ):
        return 409
    if isinstance(exc, psycopg.errors.IntegrityError):
        return 409
    return 400


def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    status = _status_for(exc)
    message = exc.message if isinstance(exc, GatewayError) else str(exc)
    if isinstance(exc, psycopg.Error):
        # Keep the first line of the server's message (it names the bad value), not its SQL.
        message = (exc.diag.message_primary or str(exc)).splitlines()[0]
    if status >= 500:
        log.warning("%s %s -> %d: %s", request.method, request.url.path, status, message)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"detail": message}, status_code=status, headers=headers)


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()))
        problems.append({"loc": where, "msg": err.get("msg", "invalid"), "type": err.get("type")})
    summary = "; ".join(f"{p['loc']}: {p['msg']}" for p in problems) or "invalid request"
    return JSONResponse({"detail": summary, "errors": problems}, status_code=422)


def _domain_roots() -> list[type[Exception]]:
    """Exception roots of the other packages that may be raised through the API."""
    roots: list[type[Exception]] = [GatewayError, psycopg.DataError, psycopg.IntegrityError]
    roots.append(psycopg.OperationalError)
    import importlib

    for module, name in (
        ("telemetry.errors", "TelemetryError"),
        ("collateral.errors", "CollateralError"),
        ("alerts.errors", "AlertsError"),
        ("ingest.errors", "IngestError"),
    ):
        try:
            root = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue
        roots.append(root)
    return roots


def create_app(settings: Settings, *, start_webhooks: bool = True) -> FastAPI:
    """Build the gateway app; the pool is opened (and closed) by its lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool: ConnectionPool[Conn] = open_pool(settings, name="assetwatch-gateway")
        app.state.pool = pool
        dispatcher = WebhookDispatcher(pool, settings) if start_webhooks else None
        if dispatcher is not None:
            dispatcher.start()
        hub = FeedHub()
        app.state.feed_hub = hub
        poller = asyncio.create_task(hub.run(pool, settings.feed_poll_s), name="feed-head")
        try:
            yield
        finally:
            app.state.stopping.set()
            hub.close()
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
            if dispatcher is not None:
                dispatcher.stop()
            pool.close()

    app = FastAPI(
        title="assetwatch gateway",
        version="1",
        description=API_DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.latest_cache = LatestCache()
    app.state.stopping = threading.Event()
    for root in _domain_roots():
        app.add_exception_handler(root, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)

    from gateway.routers import ROUTERS

    for router in ROUTERS:
        app.include_router(router)
    static = resources.files("gateway").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    return app


class _Server(uvicorn.Server):
    """A uvicorn server that tells open live-feed streams to end before it waits for them."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        app = self.config.app
        state = getattr(app, "state", None)
        stopping = getattr(state, "stopping", None)
        if isinstance(stopping, threading.Event):
            stopping.set()
        hub = getattr(state, "feed_hub", None)
        if isinstance(hub, FeedHub):
            hub.close()
        await super().shutdown(sockets)


def serve(settings: Settings) -> None:
    """Run the gateway with uvicorn on ``settings.http_host:http_port`` until interrupted."""
    config = uvicorn.Config(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=3,
    )
    _Server(config).run()


@dataclass(slots=True)
class RunningGateway:
    """A gateway served from a background thread; ``stop()`` shuts it down."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_in_thread(settings: Settings, **app_kwargs: Any) -> RunningGateway:
    """Serve the gateway from a daemon thread and wait until it accepts connections.

    ``http_port`` 0 picks a free port; the returned ``url`` has the real one.
    """
    config = uvicorn.Config(
        create_app(settings, **app_kwargs),
        host=settings.http_host,
        port=settings.http_port,
        log_level="warning",
        timeout_graceful_shutdown=3,
    )
    server = _Server(config)
    thread = threading.Thread(target=server.run, name="assetwatch-gateway", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("the gateway did not start (see the log above)")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    return RunningGateway(url=f"http://{settings.http_host}:{port}", server=server, thread=thread)
