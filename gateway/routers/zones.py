"""Zones as GeoJSON: a FeatureCollection out, a Feature in."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from gateway import registry_ops
from gateway.deps import AdminUser, ConnDep, RegistryReader
from gateway.errors import BadRequest, NotFound
from gateway.pagination import MAX_LIMIT
from gateway.rows import fetch_all, fetch_one
from gateway.schemas import Id, ZoneCollection, ZoneFeature, ZoneIn

router = APIRouter(prefix="/api/zones", tags=["registry"])


def feature(row: dict[str, Any]) -> dict[str, Any]:
    """A zone row as a GeoJSON Feature."""
    return {
        "type": "Feature",
        "id": row["id"],
        "geometry": row["geometry"],
        "properties": {
            "asset_id": row["asset_id"],
            "kind": row["kind"],
            "name": row["name"],
            "buffer_m": row["buffer_m"],
        },
    }


@router.get("", response_model=ZoneCollection)
def list_zones(
    conn: ConnDep,
    user: RegistryReader,
    asset_id: Annotated[str | None, Query(max_length=100)] = None,
    kind: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = MAX_LIMIT,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    """Zones as a GeoJSON FeatureCollection (ready for any map)."""
    rows = fetch_all(
        conn,
        "zones_page",
        {"asset_id": asset_id, "kind": kind, "limit": limit, "offset": offset},
    )
    return {"type": "FeatureCollection", "features": [feature(r) for r in rows]}


@router.get("/{zone_id}", response_model=ZoneFeature)
def get_zone(conn: ConnDep, user: RegistryReader, zone_id: Id) -> dict[str, Any]:
    """One zone as a GeoJSON Feature."""
    row = fetch_one(conn, "zone_get", {"id": zone_id})
    if row is None:
        raise NotFound(f"no zone {zone_id!r}")
    return feature(row)


@router.put("/{zone_id}", response_model=ZoneFeature)
def put_zone(conn: ConnDep, user: AdminUser, zone_id: Id, body: ZoneIn) -> dict[str, Any]:
    """Create or replace a zone from a GeoJSON Feature (Polygon or MultiPolygon)."""
    if body.id != zone_id:
        raise BadRequest(f"feature id {body.id!r} does not match the URL's zone id {zone_id!r}")
    fields = {"id": zone_id, "geometry": body.geometry, **body.properties.model_dump()}
    registry_ops.create(conn, "zone", fields, actor=user.name)
    row = fetch_one(conn, "zone_get", {"id": zone_id})
    assert row is not None
    return feature(row)
