"""Small spherical-earth helpers: metre offsets, distances, bearings, boxes.

The simulated fleets live within a few hundred kilometres of their bases, so
a local equirectangular approximation is accurate to well under a metre for
jitter-sized offsets and to a fraction of a percent for trip distances; that is
far below the GPS noise the simulators add on purpose.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_M = 6_371_008.8
_M_PER_DEG_LAT = math.pi * EARTH_RADIUS_M / 180.0


def offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    """The point ``north_m`` north and ``east_m`` east of (lat, lon)."""
    dlat = north_m / _M_PER_DEG_LAT
    dlon = east_m / (_M_PER_DEG_LAT * math.cos(math.radians(lat)))
    return lat + dlat, lon + dlon


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial bearing from point 1 to point 2, degrees clockwise from north in [0, 360)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    x = math.sin(dl) * math.cos(p2)
    y = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.degrees(math.atan2(x, y)) % 360.0


def polar(lat: float, lon: float, dist_m: float, bearing: float) -> tuple[float, float]:
    """The point ``dist_m`` away from (lat, lon) along ``bearing`` degrees."""
    rad = math.radians(bearing)
    return offset(lat, lon, dist_m * math.cos(rad), dist_m * math.sin(rad))


@dataclass(frozen=True, slots=True)
class Box:
    """An axis-aligned lat/lon rectangle: the shape of every simulated zone."""

    south: float
    west: float
    north: float
    east: float

    @classmethod
    def around(cls, lat: float, lon: float, half_ns_m: float, half_ew_m: float) -> Box:
        s, w = offset(lat, lon, -half_ns_m, -half_ew_m)
        n, e = offset(lat, lon, half_ns_m, half_ew_m)
        return cls(round(s, 6), round(w, 6), round(n, 6), round(e, 6))

    def contains(self, lat: float, lon: float, margin_m: float = 0.0) -> bool:
        """Inside the box grown (positive) or shrunk (negative) by ``margin_m``."""
        dlat = margin_m / _M_PER_DEG_LAT
        dlon = margin_m / (_M_PER_DEG_LAT * math.cos(math.radians(lat)))
        return (
            self.south - dlat <= lat <= self.north + dlat
            and self.west - dlon <= lon <= self.east + dlon
        )

    @property
    def center(self) -> tuple[float, float]:
        return (self.south + self.north) / 2, (self.west + self.east) / 2

    def geojson(self) -> dict[str, object]:
        """The box as a closed GeoJSON Polygon (counter-clockwise, lon/lat order)."""
        ring = [
            [self.west, self.south],
            [self.east, self.south],
            [self.east, self.north],
            [self.west, self.north],
            [self.west, self.south],
        ]
        return {"type": "Polygon", "coordinates": [ring]}
