"""Zone index for the ingest stream and the detectors: containment and distance in metres.

Each zone is projected once into its own azimuthal-equidistant plane (see
:mod:`collateral.geo`) and prepared with shapely; a point is projected into the
same plane and tested there, so a buffer of 200 m means 200 m at the equator,
at 60 degrees north and across the antimeridian alike. ``zones_of(asset)`` gives
an asset's zones directly; :meth:`ZoneIndex.containing` finds every zone around
an arbitrary point through an STRtree of longitude/latitude boxes (a zone whose
box crosses +-180 degrees gets two boxes).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import shapely
from shapely.geometry import Point, box
from shapely.strtree import STRtree

from collateral.errors import GeoJSONError
from collateral.geo import EARTH_MEAN_RADIUS_M
from collateral.geojson import ZoneShape, parse_zone_geometry
from telemetry.db import Conn
from telemetry.sqlfiles import query

ZONE_KINDS: Final = ("pledged", "base", "region")


@dataclass(frozen=True, slots=True)
class Zone:
    """A zone as stored: GeoJSON geometry plus its buffer in metres."""

    id: str
    asset_id: str
    kind: str
    name: str
    buffer_m: float
    geometry: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ZoneCheck:
    """Where a point stands against one asset's zones of some kinds.

    ``inside`` counts the buffer; ``distance_m`` is to the nearest zone's edge
    (0 inside it); ``signed_distance_m`` is negative inside (depth from the
    edge) and positive outside, for detectors with enter/leave thresholds.
    ``zone_id`` is None when the asset has no zone of those kinds.
    """

    inside: bool
    zone_id: str | None
    distance_m: float
    signed_distance_m: float


@dataclass(frozen=True, eq=False)
class PreparedZone:
    """One zone ready for fast tests (projected, prepared shapely geometry)."""

    zone: Zone
    shape: ZoneShape
    _boundary: Any = field(repr=False)

    @classmethod
    def build(
        cls, zone: Zone, *, base: tuple[float, float] | None = None, trusted: bool = False
    ) -> PreparedZone:
        """Validate (unless ``trusted``: already validated when stored) and prepare a zone."""
        if zone.kind not in ZONE_KINDS:
            raise GeoJSONError(
                f"zone {zone.id}: kind must be one of {ZONE_KINDS}, got {zone.kind!r}"
            )
        if not (math.isfinite(zone.buffer_m) and zone.buffer_m >= 0):
            raise GeoJSONError(f"zone {zone.id}: buffer_m must be a number >= 0")
        shape = parse_zone_geometry(zone.geometry, base=base, check=not trusted)
        shapely.prepare(shape.shape)
        return cls(zone, shape, shape.shape.boundary)

    def _xy(self, lat: float, lon: float) -> tuple[float, float]:
        return self.shape.projection.forward_one(lat, lon)

    def signed_distance_m(self, lat: float, lon: float) -> float:
        """Metres to the zone's edge: negative inside, positive outside (buffer ignored)."""
        x, y = self._xy(lat, lon)
        pt = Point(x, y)
        d = float(self._boundary.distance(pt))
        return -d if shapely.contains_xy(self.shape.shape, x, y) else d

    def distance_m(self, lat: float, lon: float) -> float:
        """Metres from the point to the zone (0 inside)."""
        return max(0.0, self.signed_distance_m(lat, lon))

    def contains(self, lat: float, lon: float, *, buffer_m: float | None = None) -> bool:
        """Inside the zone or within its buffer (``buffer_m`` overrides the zone's own)."""
        x, y = self._xy(lat, lon)
        if shapely.contains_xy(self.shape.shape, x, y):
            return True
        buf = self.zone.buffer_m if buffer_m is None else buffer_m
        return buf > 0 and bool(shapely.dwithin(self.shape.shape, Point(x, y), buf))


def _boxes(pz: PreparedZone) -> list[Any]:
    """Lon/lat boxes that surely cover the zone plus its buffer."""
    proj = pz.shape.projection
    reach = pz.shape.radius_m + pz.zone.buffer_m + 1.0
    dlat = math.degrees(reach / EARTH_MEAN_RADIUS_M) * 1.01
    south, north = proj.lat0 - dlat, proj.lat0 + dlat
    if south <= -90 or north >= 90:
        return [box(-180.0, max(-90.0, south), 180.0, min(90.0, north))]
    widest = max(abs(south), abs(north))
    dlon = dlat / max(math.cos(math.radians(widest)), 1e-6)
    if dlon >= 180:
        return [box(-180.0, south, 180.0, north)]
    west, east = proj.lon0 - dlon, proj.lon0 + dlon
    if west < -180:
        return [box(-180.0, south, east, north), box(west + 360.0, south, 180.0, north)]
    if east > 180:
        return [box(west, south, 180.0, north), box(-180.0, south, east - 360.0, north)]
    return [box(west, south, east, north)]


class ZoneIndex:
    """All zones, by asset and through a spatial index; immutable once built."""

    def __init__(self, zones: Iterable[PreparedZone]) -> None:
        self._zones: tuple[PreparedZone, ...] = tuple(zones)
        by_asset: dict[str, list[PreparedZone]] = {}
        owners: list[int] = []
        boxes: list[Any] = []
        for i, pz in enumerate(self._zones):
            by_asset.setdefault(pz.zone.asset_id, []).append(pz)
            for b in _boxes(pz):
                boxes.append(b)
                owners.append(i)
        self._by_asset = {k: tuple(v) for k, v in by_asset.items()}
        self._owners = np.array(owners, dtype=np.int64)
        self._tree = STRtree(boxes) if boxes else None

    @classmethod
    def from_zones(
        cls,
        zones: Iterable[Zone],
        *,
        bases: dict[str, tuple[float, float]] | None = None,
        trusted: bool = False,
    ) -> ZoneIndex:
        """Validate and prepare zones (``bases``: asset id -> declared base, for swap checks).

        ``trusted`` skips the geometry checks for zones validated when stored.
        """
        bases = bases or {}
        return cls(
            PreparedZone.build(z, base=bases.get(z.asset_id), trusted=trusted) for z in zones
        )

    @classmethod
    def load(cls, conn: Conn) -> ZoneIndex:
        """Every stored zone (already validated when stored)."""
        rows = conn.execute(query("collateral", "zones_all")).fetchall()
        return cls.from_zones(
            (Zone(str(r[0]), str(r[1]), str(r[2]), str(r[3]), float(r[4]), r[5]) for r in rows),
            trusted=True,
        )

    def __len__(self) -> int:
        return len(self._zones)

    def zones_of(
        self, asset_id: str, kinds: Sequence[str] | None = None
    ) -> tuple[PreparedZone, ...]:
        """The asset's zones, optionally only of the given kinds."""
        found = self._by_asset.get(asset_id, ())
        return found if kinds is None else tuple(z for z in found if z.zone.kind in kinds)

    def check(
        self, asset_id: str, lat: float, lon: float, *, kinds: Sequence[str] = ("pledged",)
    ) -> ZoneCheck:
        """Is the point inside any of the asset's zones of ``kinds`` (buffers included)?"""
        best: tuple[float, PreparedZone] | None = None
        inside = False
        for pz in self.zones_of(asset_id, kinds):
            sd = pz.signed_distance_m(lat, lon)
            if sd <= pz.zone.buffer_m:
                inside = True
            if best is None or sd < best[0]:
                best = (sd, pz)
        if best is None:
            return ZoneCheck(False, None, math.inf, math.inf)
        return ZoneCheck(inside, best[1].zone.id, max(0.0, best[0]), best[0])

    def containing(self, lat: float, lon: float, *, with_buffer: bool = True) -> list[Zone]:
        """Every zone (of any asset) that contains the point, buffers counted if asked."""
        if self._tree is None:
            return []
        hits = self._tree.query(Point(lon, lat))
        seen: set[int] = set()
        out: list[Zone] = []
        for h in np.asarray(hits, dtype=np.int64):
            i = int(self._owners[int(h)])
            if i in seen:
                continue
            seen.add(i)
            pz = self._zones[i]
            if pz.contains(lat, lon, buffer_m=None if with_buffer else 0.0):
                out.append(pz.zone)
        return out
