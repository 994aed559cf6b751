"""Distance from a point to a pledged zone, in metres, with shapely.

Zones are GeoJSON in WGS84. Each is projected once onto a local equirectangular
plane around its own centroid, which is accurate to well under 1 % for zones a
few hundred kilometres across — plenty for buffers of hundreds of metres.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry
from shapely.prepared import PreparedGeometry, prep

from alerts.detectors.base import EARTH_RADIUS_M, ZoneSpec


class _LocalZone:
    __slots__ = ("geom", "kx", "lat0", "lon0", "prepared")

    def __init__(self, geometry: Mapping[str, Any]) -> None:
        raw = shape(geometry)
        c = raw.centroid
        self.lat0, self.lon0 = float(c.y), float(c.x)
        self.kx = math.radians(1.0) * EARTH_RADIUS_M * math.cos(math.radians(self.lat0))
        ky = math.radians(1.0) * EARTH_RADIUS_M
        scale = np.array([self.kx, ky])
        origin = np.array([self.lon0, self.lat0])
        self.geom: BaseGeometry = shapely.transform(raw, lambda xy: (xy - origin) * scale)
        self.prepared: PreparedGeometry = prep(self.geom)

    def distance_outside(self, lat: float, lon: float) -> float:
        ky = math.radians(1.0) * EARTH_RADIUS_M
        p = Point((lon - self.lon0) * self.kx, (lat - self.lat0) * ky)
        if self.prepared.covers(p):
            return 0.0
        return float(self.geom.distance(p))


@lru_cache(maxsize=65536)
def _zone(zone_id: str, geometry_json: str) -> _LocalZone:
    return _LocalZone(json.loads(geometry_json))


# The geometry mapping object of a ZoneSpec -> its projection. Keyed by object
# identity (kept alive in the value) so the per-reading cost is a dict lookup,
# not a JSON dump; a changed zone arrives as a new object.
_BY_OBJECT: dict[int, tuple[Mapping[str, Any], _LocalZone]] = {}


def local_zone(z: ZoneSpec) -> _LocalZone:
    """The projected zone (cached by geometry object, then by id and geometry)."""
    hit = _BY_OBJECT.get(id(z.geometry))
    if hit is not None and hit[0] is z.geometry:
        return hit[1]
    lz = _zone(z.zone_id, json.dumps(z.geometry, sort_keys=True))
    if len(_BY_OBJECT) > 65536:
        _BY_OBJECT.clear()
    _BY_OBJECT[id(z.geometry)] = (z.geometry, lz)
    return lz


def distance_outside(zones: tuple[ZoneSpec, ...], lat: float, lon: float) -> tuple[float, float]:
    """(metres outside the nearest zone, that zone's buffer); 0 when inside any zone."""
    best = math.inf
    buffer = 0.0
    for z in zones:
        d = local_zone(z).distance_outside(lat, lon)
        if d < best:
            best, buffer = d, z.buffer_m
        if d == 0.0:
            break
    return best, buffer
