"""Webhooks: alert events POSTed to subscribed URLs, signed, retried with backoff, logged.

Each webhook remembers the last feed id delivered, so events go out in order
and survive a restart. A failed delivery is retried after ``webhook_backoff_s``,
doubling each time, up to ``webhook_max_attempts``; then it is logged as given
up and the webhook moves on. Every attempt is a row in
``gateway_webhook_deliveries``.

The receiver checks ``X-Assetwatch-Signature: t=<unix seconds>,v1=<hex>`` where
``v1 = HMAC-SHA256(secret, "<t>.<body>")`` (see :func:`verify_signature`).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime

import psycopg
from psycopg_pool import ConnectionPool

from assetwatch.settings import Settings
from gateway.errors import BadRequest, NotFound
from gateway.feed import FeedEvent, events_after, feed_head
from telemetry.db import Conn, connect, database_url
from telemetry.sqlfiles import query

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Assetwatch-Signature"
LEADER_LOCK = 0x61777768  # "awwh": the advisory lock of the delivering dispatcher


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(
    secret: str, body: bytes, header: str, *, now: float, tolerance_s: float = 300
) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` and is recent (receiver side)."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    t = parts.get("t", "")
    if not t.isdigit() or abs(now - int(t)) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, body, int(t)), f"t={t},v1={parts.get('v1', '')}")


@dataclass(frozen=True, slots=True)
class Webhook:
    """A subscription as listings show it (the secret is never returned after creation)."""

    id: int
    url: str
    active: bool
    last_event_id: int
    created_at: datetime


def add_webhook(conn: Conn, *, url: str, secret: str, from_start: bool = False) -> Webhook:
    """Subscribe ``url``; it receives events newer than now (or all, with ``from_start``)."""
    if not url.startswith(("http://", "https://")) or len(url) > 2000:
        raise BadRequest("webhook url must be an http:// or https:// URL")
    if len(secret) < 16:
        raise BadRequest("webhook secret must be at least 16 characters")
    head = 0
    if not from_start:
        head = feed_head(conn) if _feed_exists(conn) else 0
    row = conn.execute(
        query("gateway", "webhook_insert"), {"url": url, "secret": secret, "from_id": head}
    ).fetchone()
    assert row is not None
    return Webhook(*row)


def list_webhooks(conn: Conn) -> list[Webhook]:
    """Every subscription."""
    return [Webhook(*r) for r in conn.execute(query("gateway", "webhook_list"))]


def deactivate_webhook(conn: Conn, webhook_id: int) -> None:
    """Stop deliveries to a webhook (its log is kept)."""
    if conn.execute(query("gateway", "webhook_deactivate"), {"id": webhook_id}).fetchone() is None:
        raise NotFound(f"no webhook {webhook_id}")


def _feed_exists(conn: Conn) -> bool:
    row = conn.execute("SELECT to_regclass('alert_events') IS NOT NULL").fetchone()
    return bool(row and row[0])


def post(
    url: str, body: bytes, headers: dict[str, str], timeout_s: float
) -> tuple[int | None, str | None]:
    """POST once: ``(status, error)``; any 2xx is success."""
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            status = int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return None, str(getattr(exc, "reason", exc))[:500]
    return status, None if 200 <= status < 300 else f"HTTP {status}"


@dataclass(slots=True)
class _Pending:
    attempt: int = 0
    next_try: float = 0.0


@dataclass
class WebhookDispatcher:
    """A background thread that delivers feed events to every active webhook."""

    pool: ConnectionPool[Conn]
    settings: Settings
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _pending: dict[int, _Pending] = field(default_factory=dict)
    _lock_conn: Conn | None = None
    _is_leader: bool = False

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="assetwatch-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.settings.webhook_timeout_s + 2)

    def _leader(self) -> bool:
        """Whether this dispatcher holds the database-wide delivery lock (taking it if free).

        The lock lives in a session of its own: if this process dies or loses the
        database, the session ends and another gateway's dispatcher takes over.
        """
        if self._lock_conn is not None and self._lock_conn.closed:
            self._lock_conn = None
            self._is_leader = False
        if self._is_leader:
            return True
        if self._lock_conn is None:
            self._lock_conn = connect(
                database_url(self.settings), autocommit=True, application_name="gateway-webhooks"
            )
        row = self._lock_conn.execute(
            query("gateway", "webhook_leader"), {"key": LEADER_LOCK}
        ).fetchone()
        self._is_leader = bool(row and row[0])
        return self._is_leader

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    if self._leader():
                        self.run_once(time.monotonic())
                except Exception:  # a broken database must not kill the thread; retry next tick
                    log.exception("webhook dispatcher tick failed")
                    self._release()
                self._stop.wait(max(self.settings.feed_poll_s, 0.2))
        finally:
            self._release()

    def _release(self) -> None:
        if self._lock_conn is not None:
            with contextlib.suppress(psycopg.Error):
                if self._is_leader and not self._lock_conn.closed:
                    self._lock_conn.execute(
                        query("gateway", "webhook_unlock"), {"key": LEADER_LOCK}
                    )
            self._lock_conn.close()  # ends the session, and with it any lock left
        self._lock_conn = None
        self._is_leader = False

    def run_once(self, now: float) -> int:
        """Try every webhook whose next delivery is due; returns attempts made."""
        attempts = 0
        with self.pool.connection() as conn:
            if not _feed_exists(conn):
                return 0
            hooks = conn.execute(query("gateway", "webhook_active")).fetchall()
        for hook_id, url, secret, last_id in hooks:
            pending = self._pending.setdefault(int(hook_id), _Pending())
            if now < pending.next_try:
                continue
            with self.pool.connection() as conn:
                events = events_after(conn, int(last_id), limit=50)
            for event in events:
                attempts += 1
                if not self._deliver(int(hook_id), str(url), str(secret), event, pending, now):
                    break
        return attempts

    def _deliver(
        self, hook_id: int, url: str, secret: str, event: FeedEvent, pending: _Pending, now: float
    ) -> bool:
        body = event.to_sse().split("data: ", 1)[1].strip().encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "assetwatch-webhooks/1",
            "X-Assetwatch-Event-Id": str(event.id),
            "X-Assetwatch-Event": event.type,
            SIGNATURE_HEADER: sign(secret, body, int(time.time())),
        }
        status, error = post(url, body, headers, self.settings.webhook_timeout_s)
        pending.attempt += 1
        ok = error is None
        give_up = not ok and pending.attempt >= self.settings.webhook_max_attempts
        with self.pool.connection() as conn:
            conn.execute(
                query("gateway", "delivery_insert"),
                {
                    "webhook_id": hook_id,
                    "event_id": event.id,
                    "attempt": pending.attempt,
                    "status_code": status,
                    "ok": ok,
                    "error": (error + " (giving up)") if give_up and error else error,
                },
            )
            if ok or give_up:
                conn.execute(
                    query("gateway", "webhook_advance"), {"id": hook_id, "event_id": event.id}
                )
        if ok or give_up:
            if give_up:
                log.warning("webhook %d gave up on event %d: %s", hook_id, event.id, error)
            pending.attempt = 0
            pending.next_try = 0.0
            return True
        delay = self.settings.webhook_backoff_s * 2 ** (pending.attempt - 1)
        pending.next_try = now + min(delay, 300.0)
        return False
