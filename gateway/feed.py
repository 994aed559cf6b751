"""The live alert feed: Server-Sent Events read from the ``alert_events`` table.

Each event keeps the table's monotonic id as its SSE ``id``; a client that
reconnects with ``Last-Event-ID`` (or ``?after=``) is sent every event after
it, so nothing is missed across a reconnect. New events are found by short
polling (``feed_poll_s``), which needs no extra connection per client and
keeps delivery well under a second.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from psycopg_pool import ConnectionPool
from starlette.concurrency import run_in_threadpool

from gateway.errors import Unavailable
from telemetry.db import Conn
from telemetry.sqlfiles import query

log = logging.getLogger(__name__)

BATCH = 500
KEEPALIVE_S = 15.0


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """One alert event: its feed id, its type and the event row as JSON."""

    id: int
    type: str
    data: dict[str, Any]

    def to_sse(self) -> str:
        """The event in the ``text/event-stream`` wire format."""
        body = json.dumps(self.data, default=str, separators=(",", ":"))
        return f"id: {self.id}\nevent: {self.type}\ndata: {body}\n\n"


def _event_type(row: dict[str, Any]) -> str:
    for key in ("type", "event", "event_type", "action"):
        value = row.get(key)
        if isinstance(value, str) and value and "\n" not in value:
            return value
    return "alert"


def events_after(conn: Conn, after: int, limit: int = BATCH) -> list[FeedEvent]:
    """Events with an id greater than ``after``, oldest first."""
    if conn.execute("SELECT to_regclass('alert_events')").fetchone() == (None,):
        raise Unavailable("the alert feed table (alert_events) does not exist yet")
    rows = conn.execute(query("gateway", "feed_after"), {"after": after, "limit": limit})
    return [FeedEvent(id=int(r[0]), type=_event_type(r[1]), data=r[1]) for r in rows]


def feed_head(conn: Conn) -> int:
    """The newest event id (0 when the feed is empty)."""
    row = conn.execute(query("gateway", "feed_head")).fetchone()
    return int(row[0]) if row else 0


def parse_last_event_id(value: str | None) -> int | None:
    """The numeric id in a ``Last-Event-ID`` header, or None when absent or not a number."""
    if value is None or not value.strip().isdigit() or len(value.strip()) > 18:
        return None
    return int(value.strip())


class FeedHub:
    """One poller per app that learns the feed's head and wakes the streams waiting on it.

    Streams read events from the table themselves (each from its own
    position, so resuming needs nothing from the hub) but wait here while they
    are caught up, so idle clients cost no queries: one ``max(id)`` per
    ``poll_s`` serves them all.
    """

    def __init__(self) -> None:
        self.head = 0
        self.closed = False
        self._changed = asyncio.Event()

    def publish(self, head: int) -> None:
        """Record the newest id and wake every waiting stream if it moved."""
        if head > self.head:
            self.head = head
            changed, self._changed = self._changed, asyncio.Event()
            changed.set()

    def close(self) -> None:
        """Wake every stream for good (the app is stopping)."""
        self.closed = True
        self._changed.set()

    async def wait_beyond(self, position: int, max_wait_s: float) -> bool:
        """Wait until the head passes ``position``; False on timeout or close."""
        while self.head <= position and not self.closed:
            try:
                await asyncio.wait_for(self._changed.wait(), max_wait_s)
            except TimeoutError:
                return False
        return not self.closed

    async def run(self, pool: ConnectionPool[Conn], poll_s: float) -> None:
        """Poll the head until cancelled (the lifespan owns this task)."""

        def head() -> int:
            with pool.connection() as conn:
                return feed_head(conn)

        while not self.closed:
            try:
                self.publish(await run_in_threadpool(head))
            except Exception:  # table missing or database away: try again next tick
                log.debug("feed head poll failed", exc_info=True)
            await asyncio.sleep(poll_s)


async def stream(
    pool: ConnectionPool[Conn],
    hub: FeedHub,
    after: int,
    *,
    poll_s: float,
    stopping: threading.Event,
    limit: int | None = None,
    wait_s: float | None = None,
) -> AsyncIterator[str]:
    """Yield SSE frames for events after ``after`` until the client leaves or the app stops.

    ``limit`` ends the stream after that many events and ``wait_s`` after that
    long (scripted clients and tests; browsers use neither). A client that
    leaves is noticed by the response, which cancels this generator.
    """

    def fetch(position: int) -> list[FeedEvent]:
        with pool.connection() as conn:
            return events_after(conn, position)

    yield f"retry: {int(max(poll_s, 0.5) * 1000)}\n: assetwatch alert feed after {after}\n\n"
    sent = 0
    loop = asyncio.get_running_loop()
    deadline = None if wait_s is None else loop.time() + wait_s
    last_write = loop.time()
    while not stopping.is_set() and not hub.closed:
        events = await run_in_threadpool(fetch, after)
        for event in events:
            yield event.to_sse()
            after = event.id
            sent += 1
            if limit is not None and sent >= limit:
                return
        if events:
            last_write = loop.time()
            if len(events) == BATCH:
                continue
        now = loop.time()
        if deadline is not None and now >= deadline:
            return
        if now - last_write >= KEEPALIVE_S:
            last_write = now
            yield ": keepalive\n\n"
        timeout = min(1.0, KEEPALIVE_S, *(() if deadline is None else (deadline - now,)))
        await hub.wait_beyond(after, max(timeout, 0.01))
