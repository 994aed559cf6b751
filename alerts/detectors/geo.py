"""Distance from a point to a pledged zone, in metres, with shapely.

Zones are GeoJSON in WGS84. Each is projected once onto a local equirectangular
plane around its own centroid, which is accurate to well under 1 % for zones a
few hundred kilometres across — plenty for buffers of hundreds of metres.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import shapely
from shapely.errors import GEOSException
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry

from alerts.detectors.base import EARTH_RADIUS_M, ZoneSpec

_KY = math.radians(1.0) * EARTH_RADIUS_M


class _LocalZone:
    __slots__ = ("cx", "cy", "geom", "kx", "lat0", "lon0", "r2")

    def __init__(self, geometry: Mapping[str, Any]) -> None:
        raw = shape(geometry)
        c = raw.centroid
        self.lat0, self.lon0 = float(c.y), float(c.x)
        self.kx = math.radians(1.0) * EARTH_RADIUS_M * math.cos(math.radians(self.lat0))
        ky = math.radians(1.0) * EARTH_RADIUS_M
        scale = np.array([self.kx, ky])
        origin = np.array([self.lon0, self.lat0])
        self.geom: BaseGeometry = shapely.transform(raw, lambda xy: (xy - origin) * scale)
        shapely.prepare(self.geom)
        # A circle inside the zone: a point in it is inside without asking shapely
        # (a scalar intersects_xy costs microseconds; most fixes are well inside).
        self.cx = self.cy = 0.0
        self.r2 = -1.0
        try:
            spoke = shapely.get_coordinates(shapely.maximum_inscribed_circle(self.geom))
        except GEOSException:
            return  # not polygonal: always ask shapely
        if len(spoke) == 2:
            (cx, cy), (bx, by) = spoke
            self.cx, self.cy = float(cx), float(cy)
            self.r2 = float((bx - cx) ** 2 + (by - cy) ** 2) * 0.998  # a margin for rounding

    def distance_outside(self, lat: float, lon: float) -> float:
        x, y = (lon - self.lon0) * self.kx, (lat - self.lat0) * _KY
        dx, dy = x - self.cx, y - self.cy
        if dx * dx + dy * dy < self.r2:
            return 0.0
        # For a point, "intersects" is "covers" (inside or on the boundary);
        # the _xy form tests coordinates without building a Point (the common
        # case, inside the zone, allocates nothing).
        if shapely.intersects_xy(self.geom, x, y):
            return 0.0
        return float(self.geom.distance(Point(x, y)))


# zone id -> (the geometry mapping it was built from, its projection). Bounded
# by the number of zones; a context reload brings new but equal mappings, which
# cost one comparison instead of a new projection (and no growth).
_BY_ID: dict[str, tuple[Mapping[str, Any], _LocalZone]] = {}


def local_zone(z: ZoneSpec) -> _LocalZone:
    """The projected zone, cached per zone id until its geometry changes."""
    hit = _BY_ID.get(z.zone_id)
    if hit is not None and (hit[0] is z.geometry or hit[0] == z.geometry):
        if hit[0] is not z.geometry:
            _BY_ID[z.zone_id] = (z.geometry, hit[1])
        return hit[1]
    lz = _LocalZone(z.geometry)
    _BY_ID[z.zone_id] = (z.geometry, lz)
    return lz


class ZoneSet:
    """A device's zones projected once, for the fixes of a whole batch."""

    __slots__ = ("_one", "_zones")

    def __init__(self, zones: tuple[ZoneSpec, ...]) -> None:
        self._zones = [(local_zone(z), z.buffer_m) for z in zones]
        self._one = self._zones[0] if len(self._zones) == 1 else None

    def distance_outside(self, lat: float, lon: float) -> tuple[float, float]:
        """(metres outside the nearest zone, that zone's buffer); 0 when inside any zone."""
        if self._one is not None:  # the usual case: one pledged zone
            return self._one[0].distance_outside(lat, lon), self._one[1]
        best = math.inf
        buffer = 0.0
        for lz, buf in self._zones:
            d = lz.distance_outside(lat, lon)
            if d < best:
                best, buffer = d, buf
            if d == 0.0:
                break
        return best, buffer
