"""Webhooks: alert events POSTed, HMAC-signed, retried with backoff, every attempt logged."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from gateway.webhooks import SIGNATURE_HEADER, verify_signature
from tests.support.gateway import (
    auth,
    db,
    gateway_client,
    insert_alert,
    keys_by_role,
    seed_registry,
)

pytestmark = pytest.mark.integration

SECRET = "webhook-secret-0123456789"


class Receiver:
    """A real HTTP server that fails the first ``fail_first`` requests with 500."""

    def __init__(self, fail_first: int) -> None:
        self.fail_first = fail_first
        self.received: list[tuple[dict[str, str], bytes, int]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = 500 if len(receiver.received) < receiver.fail_first else 204
                receiver.received.append((dict(self.headers), body, status))
                self.send_response(status)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(fail_first=2)
    try:
        yield r
    finally:
        r.close()


def test_events_are_signed_retried_and_logged(db_url: str, receiver: Receiver) -> None:
    with db(db_url) as conn:
        seed_registry(conn)
        keys = keys_by_role(conn)
    admin = auth(keys["admin"])
    with gateway_client(
        db_url, start_webhooks=True, feed_poll_s=0.05, webhook_backoff_s=0.1
    ) as client:
        hook = client.post(
            "/api/webhooks", json={"url": receiver.url, "secret": SECRET}, headers=admin
        ).json()
        with db(db_url) as conn:
            alert_id = insert_alert(conn)
        deadline = time.monotonic() + 15
        while not any(s == 204 for *_, s in receiver.received):
            assert time.monotonic() < deadline, f"no delivery: {receiver.received}"
            time.sleep(0.05)
        log = client.get(f"/api/webhooks/{hook['id']}/deliveries", headers=admin).json()

    assert [s for *_, s in receiver.received] == [500, 500, 204]
    headers, body, _ = receiver.received[-1]
    assert verify_signature(SECRET, body, headers[SIGNATURE_HEADER], now=time.time())
    assert not verify_signature(
        "wrong-secret-xxxxxxxx", body, headers[SIGNATURE_HEADER], now=time.time()
    )
    event = json.loads(body)
    assert event["alert_id"] == alert_id
    assert event["event"] == "raised"
    assert headers["X-Assetwatch-Event"] == "raised"
    assert [(d["attempt"], d["ok"]) for d in reversed(log)] == [(1, False), (2, False), (3, True)]
    assert log[-1]["status_code"] == 500
    # Backoff: the gaps between attempts grow (0.1 s, then 0.2 s at least).
    times = [d["attempted_at"] for d in reversed(log)]
    assert times == sorted(times)


def test_one_dispatcher_per_database_delivers(db_url: str) -> None:
    from assetwatch.settings import Settings
    from gateway.webhooks import WebhookDispatcher
    from telemetry.db import open_pool

    settings = Settings(database_url=db_url, db_pool_min=1, db_pool_max=2)
    pool = open_pool(settings)
    try:
        first, second = WebhookDispatcher(pool, settings), WebhookDispatcher(pool, settings)
        assert first._leader() is True
        assert second._leader() is False
        assert first._leader() is True
        first._release()  # this gateway stops or loses its session
        assert second._leader() is True
        second._release()
    finally:
        pool.close()
