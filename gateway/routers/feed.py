"""The live alert feed over Server-Sent Events, resumable with ``Last-Event-ID``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from gateway.deps import ConnDep, PoolDep, PostLoan, SettingsDep
from gateway.feed import events_after, feed_head, parse_last_event_id, stream

router = APIRouter(prefix="/api/feed", tags=["alerts"])


@router.get(
    "/alerts",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}},
)
async def alert_feed(
    request: Request,
    pool: PoolDep,
    settings: SettingsDep,
    user: PostLoan,
    last_event_id: Annotated[str | None, Header(max_length=40)] = None,
    after: Annotated[int | None, Query(ge=0, le=2**62, description="resume after this id")] = None,
    limit: Annotated[
        int | None, Query(ge=1, le=100_000, description="close after N events")
    ] = None,
    wait_s: Annotated[
        float | None, Query(gt=0, le=86_400, description="close after this many seconds")
    ] = None,
) -> StreamingResponse:
    """Alert events as they happen (SSE). Each event's ``id`` is its feed position.

    On reconnect the browser sends ``Last-Event-ID`` and receives every event
    after it. Without either, the stream starts at the current end of the feed.
    """
    position = parse_last_event_id(last_event_id)
    if position is None:
        position = after
    if position is None:

        def head() -> int:
            with pool.connection() as conn:
                return feed_head(conn)

        position = await run_in_threadpool(head)
    return StreamingResponse(
        stream(
            pool,
            request.app.state.feed_hub,
            position,
            poll_s=settings.feed_poll_s,
            stopping=request.app.state.stopping,
            limit=limit,
            wait_s=wait_s,
        ),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/alerts/events")
def alert_events(
    conn: ConnDep,
    user: PostLoan,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """The same events by polling: those with an id greater than ``after``."""
    return [{"id": e.id, "type": e.type, "data": e.data} for e in events_after(conn, after, limit)]
