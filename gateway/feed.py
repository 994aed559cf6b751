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
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from psycopg_pool import ConnectionPool
from starlette.concurrency import run_in_threadpool

from gateway.errors import Unavailable
from telemetry.db import Conn
from telemetry.sqlfiles import query

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


async def stream(
    pool: ConnectionPool[Conn],
    after: int,
    *,
    poll_s: float,
    stopping: threading.Event,
    is_disconnected: Any,
    limit: int | None = None,
    wait_s: float | None = None,
) -> AsyncIterator[str]:
    """Yield SSE frames for events after ``after`` until the client leaves or the app stops.

    ``limit`` ends the stream after that many events and ``wait_s`` after that
    long (scripted clients and tests; browsers use neither).
    """

    def fetch(position: int) -> list[FeedEvent]:
        with pool.connection() as conn:
            return events_after(conn, position)

    yield f"retry: {int(max(poll_s, 0.5) * 1000)}\n: assetwatch alert feed after {after}\n\n"
    sent = 0
    idle = 0.0
    loop = asyncio.get_running_loop()
    deadline = None if wait_s is None else loop.time() + wait_s
    while not stopping.is_set():
        if deadline is not None and loop.time() >= deadline:
            return
        events = await run_in_threadpool(fetch, after)
        for event in events:
            yield event.to_sse()
            after = event.id
            sent += 1
            if limit is not None and sent >= limit:
                return
        if events:
            idle = 0.0
            continue
        if await is_disconnected():
            return
        await asyncio.sleep(poll_s)
        idle += poll_s
        if idle >= KEEPALIVE_S:
            idle = 0.0
            yield ": keepalive\n\n"
