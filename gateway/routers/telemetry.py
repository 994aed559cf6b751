"""Telemetry of assets: latest state of many, a track as GeoJSON, hourly and daily figures.

Assets are what people ask about; terminals are what report. Each endpoint
maps an asset to the terminals bound to it during the requested window and
asks :mod:`telemetry.queries` for each binding's slice of time.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

import telemetry.queries as tq
from gateway.deps import ConnDep, TelemetryReader
from gateway.errors import BadRequest, NotFound
from gateway.latest import LatestCache
from gateway.rows import fetch_all, fetch_one
from gateway.schemas import Id
from telemetry.db import Conn

router = APIRouter(prefix="/api/telemetry", tags=["telemetry"])

MAX_WINDOW = timedelta(days=366)
Time = Annotated[datetime, Query(description="RFC 3339 time with a zone offset")]


class LatestRequest(BaseModel):
    asset_ids: list[Annotated[str, Field(max_length=64)]] | None = Field(
        default=None, max_length=20_000, description="assets to return; omit for all"
    )


LATEST_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "latest state of each asset with an active binding",
        "content": {"application/json": {"schema": {"type": "array", "items": {"type": "object"}}}},
    }
}


def _latest(request: Request, conn: Conn, asset_ids: list[str] | None) -> Response:
    # Per-asset JSON fragments refreshed incrementally (gateway.latest): only
    # rows written since the last request are rebuilt (bench/gateway_api.py).
    cache: LatestCache = request.app.state.latest_cache
    return Response(content=cache.document(conn, asset_ids), media_type="application/json")


@router.get("/latest", responses=LATEST_RESPONSES, response_class=Response)
def latest(
    request: Request,
    conn: ConnDep,
    user: TelemetryReader,
    asset_id: Annotated[list[str] | None, Query(max_length=1000)] = None,
) -> Response:
    """Newest reading (by event time) of each asset; repeat ``asset_id`` to choose."""
    return _latest(request, conn, asset_id)


@router.post("/latest", responses=LATEST_RESPONSES, response_class=Response)
def latest_many(
    request: Request, conn: ConnDep, user: TelemetryReader, body: LatestRequest
) -> Response:
    """Like GET, for long lists of assets (up to 20,000 in the body)."""
    return _latest(request, conn, body.asset_ids)


def _window(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    if start.tzinfo is None or end.tzinfo is None:
        raise BadRequest("start and end need a time zone offset (e.g. 2026-03-02T08:00:00Z)")
    if end <= start:
        raise BadRequest("end must be after start")
    if end - start > MAX_WINDOW:
        raise BadRequest("the window may span at most 366 days")
    return start.astimezone(UTC), end.astimezone(UTC)


def _slices(
    conn: Conn, asset_id: str, start: datetime, end: datetime
) -> list[tuple[str, datetime, datetime]]:
    """(device, from, to) for each binding of the asset overlapping the window."""
    if fetch_one(conn, "asset_get", {"id": asset_id}) is None:
        raise NotFound(f"no asset {asset_id!r}")
    out = []
    for b in fetch_all(conn, "asset_devices", {"asset_id": asset_id}):
        lo = max(start, b["valid_from"])
        hi = min(end, b["valid_to"] or end)
        if lo < hi:
            out.append((str(b["device_id"]), lo, hi))
    return sorted(out, key=lambda s: s[1])


def plain(value: Any) -> Any:
    """A query result (dataclass, list of them) as JSON-ready data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: plain(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


@router.get("/assets/{asset_id}/track")
def track(
    conn: ConnDep,
    user: TelemetryReader,
    asset_id: Id,
    start: Time,
    end: Time,
    simplify_m: Annotated[float | None, Query(gt=0, le=100_000)] = None,
) -> dict[str, Any]:
    """The asset's path between two times as a GeoJSON FeatureCollection.

    One LineString Feature per binding (terminal) in the window, with the
    point times in ``properties.times``; ``simplify_m`` thins the line
    (Douglas-Peucker tolerance in metres).
    """
    start, end = _window(start, end)
    features = [
        tq.track(conn, device_id, lo, hi, simplify_m=simplify_m).to_geojson()
        for device_id, lo, hi in _slices(conn, asset_id, start, end)
    ]
    return {"type": "FeatureCollection", "features": features}


@router.get("/assets/{asset_id}/hourly")
def hourly(
    conn: ConnDep, user: TelemetryReader, asset_id: Id, start: Time, end: Time
) -> list[dict[str, Any]]:
    """Hourly rollups (operating and moving minutes, distance, class metrics) of the asset."""
    start, end = _window(start, end)
    rows: list[dict[str, Any]] = []
    for device_id, lo, hi in _slices(conn, asset_id, start, end):
        rows.extend(plain(tq.hourly_rollups(conn, [device_id], lo, hi)))
    return rows


@router.get("/assets/{asset_id}/daily")
def daily(
    conn: ConnDep, user: TelemetryReader, asset_id: Id, start: Time, end: Time
) -> list[dict[str, Any]]:
    """Daily operating summary of the asset (hours operating, distance, active days)."""
    start, end = _window(start, end)
    rows: list[dict[str, Any]] = []
    for device_id, lo, hi in _slices(conn, asset_id, start, end):
        rows.extend(plain(tq.daily_summary(conn, device_id, lo, hi)))
    return rows
