"""Small geodesy helpers shared by the store's queries and its tests."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

from shapely.geometry import LineString

#: Mean Earth radius (IUGG), the same constant as the SQL rollups use.
EARTH_RADIUS_M: Final = 6371008.8


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres, as ``aw_path_of`` computes it in SQL."""
    a = (
        math.sin(math.radians(lat2 - lat1) / 2) ** 2
        + math.cos(math.radians(lat1))
        * math.cos(math.radians(lat2))
        * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def simplify_indices(latlon: Sequence[tuple[float, float]], tolerance_m: float) -> list[int]:
    """Indices of the points Douglas-Peucker keeps at ``tolerance_m`` metres.

    Projects onto a local equirectangular plane centred on the track (metres;
    accurate to well under 1% over a few hundred kilometres), simplifies with
    shapely, and maps the kept vertices back to input indices (Douglas-Peucker
    keeps a subset of the input vertices, in order).
    """
    if len(latlon) < 3:
        return list(range(len(latlon)))
    lat0 = math.radians(sum(p[0] for p in latlon) / len(latlon))
    lon0 = sum(p[1] for p in latlon) / len(latlon)
    kx = EARTH_RADIUS_M * math.cos(lat0) * math.pi / 180
    ky = EARTH_RADIUS_M * math.pi / 180
    xy = [((lon - lon0) * kx, (lat - 0.0) * ky) for lat, lon in latlon]
    kept = LineString(xy).simplify(tolerance_m, preserve_topology=False).coords
    out: list[int] = []
    j = 0
    for x, y in kept:
        while j < len(xy) and (xy[j][0], xy[j][1]) != (x, y):
            j += 1
        if j == len(xy):
            break
        out.append(j)
        j += 1
    if not out or out[0] != 0:
        out.insert(0, 0)
    if out[-1] != len(xy) - 1:
        out.append(len(xy) - 1)
    return out
