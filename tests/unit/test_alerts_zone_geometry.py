"""Distance outside a pledged zone: the inscribed-circle shortcut agrees with shapely."""

from __future__ import annotations

import math

import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, mapping

from alerts.detectors import geo
from alerts.detectors.base import ZoneSpec

LAT0, LON0 = 31.2, 121.4
M_PER_DEG_LAT = math.radians(1.0) * 6_371_008.8


def _zones() -> list[dict[str, object]]:
    ring = [(LON0 + 0.02 * math.cos(a / 7), LAT0 + 0.015 * math.sin(a / 7)) for a in range(44)]
    star = [
        (LON0 + (0.03 if i % 2 else 0.008) * math.cos(i * math.pi / 6),
         LAT0 + (0.03 if i % 2 else 0.008) * math.sin(i * math.pi / 6))
        for i in range(12)
    ]  # fmt: skip
    holed = shapely.Polygon(
        [(LON0 - 0.05, LAT0 - 0.05), (LON0 + 0.05, LAT0 - 0.05), (LON0 + 0.05, LAT0 + 0.05),
         (LON0 - 0.05, LAT0 + 0.05)],
        [[(LON0 - 0.01, LAT0 - 0.01), (LON0 + 0.01, LAT0 - 0.01), (LON0 + 0.01, LAT0 + 0.01),
          (LON0 - 0.01, LAT0 + 0.01)]],
    )  # fmt: skip
    two = shapely.MultiPolygon(
        [Point(LON0 - 0.03, LAT0).buffer(0.01), Point(LON0 + 0.03, LAT0).buffer(0.01)]
    )
    return [
        mapping(shapely.Polygon(ring)),
        mapping(shapely.Polygon(star)),
        mapping(holed),
        mapping(two),
        mapping(shapely.LineString([(LON0, LAT0), (LON0 + 0.01, LAT0)])),  # not polygonal
    ]


ZONES = _zones()


@pytest.mark.parametrize("index", range(len(ZONES)))
@settings(max_examples=300, deadline=None)
@given(dlat=st.floats(-0.07, 0.07, allow_nan=False), dlon=st.floats(-0.07, 0.07, allow_nan=False))
def test_distance_outside_matches_shapely(index: int, dlat: float, dlon: float) -> None:
    zone = geo.local_zone(ZoneSpec(f"z{index}", ZONES[index], 100.0))
    lat, lon = LAT0 + dlat, LON0 + dlon
    x, y = (lon - zone.lon0) * zone.kx, (lat - zone.lat0) * M_PER_DEG_LAT
    want = 0.0 if shapely.intersects_xy(zone.geom, x, y) else zone.geom.distance(Point(x, y))
    assert zone.distance_outside(lat, lon) == pytest.approx(want, abs=1e-6)


def test_the_shortcut_covers_most_of_a_round_zone() -> None:
    zone = geo.local_zone(ZoneSpec("round", ZONES[0], 100.0))
    assert zone.r2 > 0
    assert math.sqrt(zone.r2) > 0.9 * 0.015 * M_PER_DEG_LAT  # near the smaller semi-axis
