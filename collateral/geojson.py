"""Strict GeoJSON validation for zones: Polygon and MultiPolygon only.

Every problem is named (which ring, which position, what is wrong) and nothing
is stored when one is found. Geometry checks (self-intersection, holes outside
their shell, overlapping parts) run in the zone's local metric projection, so a
zone that straddles the antimeridian is judged by its real shape rather than by
a ring that jumps from +180 to -180 degrees.

Coordinates are GeoJSON order ``[lon, lat]``. Swapped axes are caught two ways:
a latitude beyond +-90 that would be a valid longitude, and -- when the asset
declares a base point -- a zone far from the base that would be near it with the
axes swapped.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon
from shapely.validation import explain_validity

from collateral.errors import GeoJSONError
from collateral.geo import LocalProjection, spherical_centre

#: Zones larger than this (centre to farthest vertex) are refused: the local
#: projection's distortion would exceed a few percent.
MAX_ZONE_RADIUS_M: Final = 3_000_000.0
#: With a declared base: as given farther than this, swapped within NEAR -> swapped.
_SWAP_FAR_M: Final = 1_000_000.0
_SWAP_NEAR_M: Final = 100_000.0
_SLIVER: Final = 2e-5
_POINT_IN_MSG: Final = re.compile(r"\[\s*(-?[\d.eE+-]+)\s+(-?[\d.eE+-]+)\s*\]")


@dataclass(frozen=True, slots=True)
class ZoneShape:
    """A validated zone geometry: its local projection and its shape in metres there."""

    projection: LocalProjection
    shape: Polygon | MultiPolygon
    radius_m: float  # centre to the farthest vertex
    geometry: dict[str, Any]  # the GeoJSON as given (validated)


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _positions(ring: object, where: str) -> list[tuple[float, float]]:
    if not isinstance(ring, list):
        raise GeoJSONError(f"wrong nesting: {where} must be a list of [lon, lat] positions")
    out: list[tuple[float, float]] = []
    for i, pos in enumerate(ring):
        here = f"{where}[{i}]"
        if not isinstance(pos, list):
            raise GeoJSONError(
                f"wrong nesting: {here} must be a [lon, lat] position, got {type(pos).__name__}"
            )
        if len(pos) not in (2, 3) or not all(_is_number(v) for v in pos):
            raise GeoJSONError(f"{here} must be 2 or 3 finite numbers [lon, lat(, alt)], got {pos}")
        lon, lat = float(pos[0]), float(pos[1])
        if not -90.0 <= lat <= 90.0:
            hint = (
                "; the position looks like [lat, lon] -- GeoJSON order is [lon, lat]"
                if -90.0 <= lon <= 90.0 and -180.0 <= lat <= 180.0
                else ""
            )
            raise GeoJSONError(f"{here}: latitude {lat} out of range -90..90{hint}")
        if not -180.0 <= lon <= 180.0:
            raise GeoJSONError(f"{here}: longitude {lon} out of range -180..180")
        out.append((lon, lat))
    if len(out) < 4:
        raise GeoJSONError(f"{where}: a ring needs at least 4 positions, got {len(out)}")
    if out[0] != out[-1]:
        raise GeoJSONError(
            f"{where}: ring is not closed (first position {list(out[0])} "
            f"differs from last {list(out[-1])})"
        )
    if len(set(out)) < 3:
        raise GeoJSONError(f"{where}: ring has fewer than 3 distinct positions (no area)")
    return out


def _rings_of(geom: dict[str, Any]) -> list[list[list[tuple[float, float]]]]:
    """Polygons as lists of rings (shell first), checking the nesting depth."""
    kind, coords = geom.get("type"), geom.get("coordinates")
    if kind not in ("Polygon", "MultiPolygon"):
        raise GeoJSONError(f"geometry type must be Polygon or MultiPolygon, got {kind!r}")
    if not isinstance(coords, list) or not coords:
        raise GeoJSONError(f"{kind} coordinates must be a non-empty list")
    polys = [coords] if kind == "Polygon" else coords
    out: list[list[list[tuple[float, float]]]] = []
    for p, poly in enumerate(polys):
        where = "coordinates" if kind == "Polygon" else f"coordinates[{p}]"
        if not isinstance(poly, list) or not poly:
            raise GeoJSONError(f"wrong nesting: {where} must be a non-empty list of rings")
        if _is_number(poly[0]) or (
            isinstance(poly[0], list) and poly[0] and _is_number(poly[0][0])
        ):
            expected = "[[[lon, lat], ...]]" if kind == "Polygon" else "[[[[lon, lat], ...]]]"
            raise GeoJSONError(
                f"wrong nesting: {kind} coordinates must look like {expected}; "
                f"{where} holds positions where rings are expected"
            )
        out.append([_positions(ring, f"{where}[{r}]") for r, ring in enumerate(poly)])
    return out


def _problem_point(msg: str, proj: LocalProjection) -> str:
    m = _POINT_IN_MSG.search(msg)
    if not m:
        return ""
    lat, lon = proj.inverse_one(float(m.group(1)), float(m.group(2)))
    return f" near [lon {lon:.6f}, lat {lat:.6f}]"


def parse_zone_geometry(
    geometry: object, *, base: tuple[float, float] | None = None, check: bool = True
) -> ZoneShape:
    """Validate a GeoJSON Polygon/MultiPolygon and project it; raise :class:`GeoJSONError`.

    ``base`` is the asset's declared base point ``(lat, lon)`` when known; it is
    used to recognise a zone whose axes were swapped. ``check=False`` only
    projects (for zones validated when they were stored).
    """
    if not isinstance(geometry, dict):
        raise GeoJSONError(f"geometry must be a GeoJSON object, got {type(geometry).__name__}")
    polys = _rings_of(geometry)
    all_pts = np.array([pt for poly in polys for ring in poly for pt in ring], dtype=np.float64)
    try:
        lat0, lon0 = spherical_centre(all_pts[:, 1], all_pts[:, 0])
    except ValueError as exc:
        raise GeoJSONError(f"zone spans the whole globe: {exc}") from exc
    proj = LocalProjection.at(lat0, lon0)
    radius = float(
        np.max(np.hypot(*proj.forward(all_pts[:, 1], all_pts[:, 0])) / np.minimum(proj.kx, proj.ky))
    )
    if radius > MAX_ZONE_RADIUS_M:
        raise GeoJSONError(
            f"zone is too large ({radius / 1000:.0f} km from its centre to its farthest vertex; "
            f"at most {MAX_ZONE_RADIUS_M / 1000:.0f} km): split it into smaller zones"
        )
    parts: list[Polygon] = []
    for p, poly in enumerate(polys):
        prefix = "coordinates" if geometry["type"] == "Polygon" else f"coordinates[{p}]"
        rings = []
        for r, ring in enumerate(poly):
            arr = np.array(ring, dtype=np.float64)
            xs, ys = proj.forward(arr[:, 1], arr[:, 0])
            lr = shapely.LinearRing(np.column_stack([xs, ys]))
            if check and not lr.is_simple:
                msg = explain_validity(Polygon(lr))
                raise GeoJSONError(
                    f"{prefix}[{r}]: ring self-intersects{_problem_point(msg, proj)}"
                )
            poly_r = Polygon(lr)
            # A sliver thinner than ~1/10,000 of its length is positions on a line
            # (the projection's curvature gives such a "ring" a tiny area).
            if check and poly_r.area <= _SLIVER * poly_r.length**2:
                raise GeoJSONError(f"{prefix}[{r}]: ring has no area (its positions lie on a line)")
            rings.append(lr)
        shell = Polygon(rings[0])
        for h, hole in enumerate(rings[1:] if check else [], start=1):
            if not shell.contains(Polygon(hole)):
                raise GeoJSONError(
                    f"{prefix}[{h}]: hole lies (partly) outside its shell {prefix}[0]"
                )
        for a in range(1, len(rings) if check else 1):
            for b in range(a + 1, len(rings)):
                if Polygon(rings[a]).overlaps(Polygon(rings[b])) or Polygon(rings[a]).within(
                    Polygon(rings[b])
                ):
                    raise GeoJSONError(f"{prefix}: holes [{a}] and [{b}] overlap")
        part = Polygon(rings[0], rings[1:])
        if check and not part.is_valid:
            msg = explain_validity(part)
            raise GeoJSONError(
                f"{prefix}: invalid polygon ({msg.split('[')[0].strip()})"
                f"{_problem_point(msg, proj)}"
            )
        parts.append(part)
    for a in range(len(parts) if check else 0):
        for b in range(a + 1, len(parts)):
            if parts[a].intersection(parts[b]).area > 0.0:
                raise GeoJSONError(f"MultiPolygon parts coordinates[{a}] and [{b}] overlap")
    shape: Polygon | MultiPolygon = parts[0] if len(parts) == 1 else MultiPolygon(parts)
    if check and base is not None:
        _check_swapped(all_pts, shape, proj, base)
    return ZoneShape(proj, shape, radius, geometry)


def _check_swapped(
    pts: np.ndarray[Any, Any],
    shape: Polygon | MultiPolygon,
    proj: LocalProjection,
    base: tuple[float, float],
) -> None:
    blat, blon = base
    if not (-90 <= blat <= 90 and -180 <= blon <= 180):
        raise GeoJSONError(f"declared base point (lat {blat}, lon {blon}) is out of range")
    bx, by = proj.forward_one(blat, blon)
    as_given = float(shape.distance(Point(bx, by)))
    if as_given <= _SWAP_FAR_M:
        return
    # Axes swapped: the swapped zone must itself be valid coordinates.
    if np.any(np.abs(pts[:, 0]) > 90.0):
        return
    swapped = swapped_distance_m(pts, base)
    if swapped <= _SWAP_NEAR_M:
        raise GeoJSONError(
            f"coordinates look swapped ([lat, lon] instead of GeoJSON [lon, lat]): the zone is "
            f"{as_given / 1000:.0f} km from the declared base (lat {blat}, lon {blon}) as given, "
            f"and {swapped / 1000:.1f} km from it with the axes swapped"
        )


def swapped_distance_m(pts: np.ndarray[Any, Any], base: tuple[float, float]) -> float:
    """Distance (m) from ``base`` to the zone read with its axes swapped."""
    blat, blon = base
    proj = LocalProjection.at(blat, blon)
    # pts are (lon, lat) as given; swapped they are (lat=lon_given, lon=lat_given)
    xs, ys = proj.forward(pts[:, 0], pts[:, 1])
    shell = Polygon(np.column_stack([xs, ys]))
    if not shell.is_valid:
        shell = shell.buffer(0)
    return float(shell.distance(Point(0.0, 0.0)))


def zone_base_point(declared: object) -> tuple[float, float] | None:
    """The declared base ``(lat, lon)`` of an asset's ``declared`` block, if present."""
    if not isinstance(declared, dict):
        return None
    base = declared.get("base")
    if isinstance(base, dict) and _is_number(base.get("lat")) and _is_number(base.get("lon")):
        return float(base["lat"]), float(base["lon"])
    return None


def ring_lonlat(shape: ZoneShape) -> Sequence[Sequence[tuple[float, float]]]:
    """The outer rings as given, in (lon, lat) (for rendering)."""
    geom = shape.geometry
    polys = [geom["coordinates"]] if geom["type"] == "Polygon" else geom["coordinates"]
    return [[(float(p[0]), float(p[1])) for p in poly[0]] for poly in polys]
