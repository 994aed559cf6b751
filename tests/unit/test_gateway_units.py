"""Gateway pieces that need no database: signatures, tokens, pagination, SSE framing, errors."""

from __future__ import annotations

import pytest

from gateway.app import _status_for
from gateway.auth import split_token
from gateway.errors import Conflict, Forbidden, NotFound, Unauthorized
from gateway.feed import FeedEvent, parse_last_event_id
from gateway.pagination import PageParams, make_page
from gateway.routers.dashboard import _safe_next
from gateway.webhooks import sign, verify_signature


def test_signature_round_trip_and_tamper() -> None:
    body = b'{"id":1}'
    header = sign("s3cret-s3cret-s3cret", body, 1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    assert verify_signature("s3cret-s3cret-s3cret", body, header, now=1_700_000_010)
    assert not verify_signature("s3cret-s3cret-s3cret", b'{"id":2}', header, now=1_700_000_010)
    assert not verify_signature("other-secret-xxxxxx", body, header, now=1_700_000_010)
    # Replayed long after it was sent.
    assert not verify_signature("s3cret-s3cret-s3cret", body, header, now=1_700_001_000)
    assert not verify_signature("s3cret-s3cret-s3cret", body, "garbage", now=1_700_000_010)


def test_token_format_is_checked_before_any_lookup() -> None:
    assert split_token("awk_abc123_secretpart") == ("abc123", "secretpart")
    for bad in (
        "",
        "abc",
        "awk_",
        "awk_id",
        "awk__secret",
        "bearer awk_a_b",
        "awk_" + "x" * 40 + "_s",
    ):
        with pytest.raises(Unauthorized):
            split_token(bad)


def test_page_says_whether_more_rows_exist() -> None:
    params = PageParams(limit=2, offset=4)
    assert make_page([1, 2, 3], params).next_offset == 6
    last = make_page([1, 2], params)
    assert last.next_offset is None
    assert last.items == [1, 2]


def test_sse_frame_and_last_event_id() -> None:
    frame = FeedEvent(id=7, type="raised", data={"alert_id": 3}).to_sse()
    assert frame == 'id: 7\nevent: raised\ndata: {"alert_id":3}\n\n'
    assert parse_last_event_id(" 42 ") == 42
    assert parse_last_event_id("abc") is None
    assert parse_last_event_id(None) is None
    assert parse_last_event_id("9" * 30) is None


def test_errors_map_to_statuses() -> None:
    from alerts.errors import AlertNotFound, InvalidTransition
    from collateral.errors import DoublePledgeError, GeoJSONError

    assert _status_for(NotFound("x")) == 404
    assert _status_for(Forbidden("x")) == 403
    assert _status_for(Conflict("x")) == 409
    assert _status_for(AlertNotFound("x")) == 404
    assert _status_for(InvalidTransition("x")) == 409
    assert _status_for(DoublePledgeError("x")) == 409
    assert _status_for(GeoJSONError("x")) == 400


def test_login_redirect_stays_on_this_site() -> None:
    assert _safe_next("/alerts") == "/alerts"
    assert _safe_next("//evil.example/") == "/"
    assert _safe_next("https://evil.example/") == "/"


async def test_feed_hub_wakes_waiters_only_when_the_head_moves() -> None:
    import asyncio

    from gateway.feed import FeedHub

    hub = FeedHub()
    hub.publish(5)
    assert await hub.wait_beyond(4, 0.01) is True  # already beyond: no wait
    assert await hub.wait_beyond(5, 0.01) is False  # nothing new: times out
    waiter = asyncio.create_task(hub.wait_beyond(5, 5.0))
    await asyncio.sleep(0.01)
    hub.publish(5)  # same head: still waiting
    await asyncio.sleep(0.01)
    assert not waiter.done()
    hub.publish(6)
    assert await waiter is True
    closing = asyncio.create_task(hub.wait_beyond(6, 5.0))
    await asyncio.sleep(0.01)
    hub.close()
    assert await closing is False
