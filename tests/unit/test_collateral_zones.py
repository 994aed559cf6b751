"""Zone containment and distances against hand-computed cases, and every invalid GeoJSON case."""

from __future__ import annotations

import math
from typing import Any

import pytest

from collateral.errors import GeoJSONError
from collateral.geojson import parse_zone_geometry
from collateral.zones import Zone, ZoneIndex

A = 6_378_137.0
E2 = 6.694379990141316e-3


def metres_per_degree(lat: float) -> tuple[float, float]:
    """(east-west, north-south) metres per degree on WGS84 at a latitude (textbook formulas)."""
    s2 = math.sin(math.radians(lat)) ** 2
    n = A / math.sqrt(1 - E2 * s2)
    m = A * (1 - E2) / (1 - E2 * s2) ** 1.5
    return n * math.cos(math.radians(lat)) * math.pi / 180, m * math.pi / 180


def square(lon0: float, lat0: float, lon1: float, lat1: float) -> dict[str, Any]:
    return {
        "type": "Polygon",
        "coordinates": [[[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]],
    }


def index(*zones: tuple[str, dict[str, Any], float]) -> ZoneIndex:
    return ZoneIndex.from_zones(Zone(zid, "A1", "pledged", zid, buf, g) for zid, g, buf in zones)


@pytest.mark.parametrize(
    ("lat", "lon"),
    [(0.0, 0.0), (60.0, 10.0), (-33.9, 151.2), (-54.8, -68.3), (78.2, 15.6), (35.0, -120.0)],
)
def test_distance_east_of_an_edge_in_every_hemisphere(lat: float, lon: float) -> None:
    ew, ns = metres_per_degree(lat)
    side = 0.01
    idx = index(("Z", square(lon, lat, lon + side, lat + side), 50.0))
    mid = lat + side / 2
    for metres in (10.0, 30.0, 49.0, 51.0, 100.0, 1000.0):
        chk = idx.check("A1", mid, lon + side + metres / metres_per_degree(mid)[0])
        assert chk.distance_m == pytest.approx(metres, rel=2e-3, abs=0.05)
        assert chk.inside is (metres <= 50.0)
    # 20 m inside the south edge: inside, signed distance -20
    chk = idx.check("A1", lat + 20.0 / ns, lon + side / 2)
    assert chk.inside
    assert chk.signed_distance_m == pytest.approx(-20.0, rel=2e-3)
    assert ew > 0


def test_zone_across_the_antimeridian() -> None:
    # Fiji: a ring that crosses 180 degrees the short way
    ring = [[179.99, -17.0], [-179.99, -17.0], [-179.99, -16.99], [179.99, -16.99], [179.99, -17.0]]
    idx = index(("FJ", {"type": "Polygon", "coordinates": [ring]}, 100.0))
    ew, _ = metres_per_degree(-16.995)
    assert idx.check("A1", -16.995, 180.0).inside
    assert idx.check("A1", -16.995, -180.0).inside
    assert idx.check("A1", -16.995, 179.995).signed_distance_m < 0
    chk = idx.check("A1", -16.995, -179.985)
    assert chk.distance_m == pytest.approx(0.005 * ew, rel=2e-3)
    assert not chk.inside
    assert [z.id for z in idx.containing(-16.995, -179.999)] == ["FJ"]
    assert [z.id for z in idx.containing(-16.995, 179.9905)] == ["FJ"]
    assert idx.containing(-16.995, 179.0) == []


def test_buffer_and_holes_and_multipolygon() -> None:
    outer = [[121.0, 31.0], [121.1, 31.0], [121.1, 31.1], [121.0, 31.1], [121.0, 31.0]]
    hole = [[121.04, 31.04], [121.06, 31.04], [121.06, 31.06], [121.04, 31.06], [121.04, 31.04]]
    geom = {
        "type": "MultiPolygon",
        "coordinates": [
            [outer, hole],
            [[[122.0, 31.0], [122.01, 31.0], [122.01, 31.01], [122.0, 31.0]]],
        ],
    }
    idx = index(("M", geom, 0.0))
    assert not idx.check("A1", 31.05, 121.05).inside  # in the hole
    ew, _ = metres_per_degree(31.05)  # the hole's east/west edges are the nearest
    assert idx.check("A1", 31.05, 121.05).distance_m == pytest.approx(0.01 * ew, rel=2e-3)
    assert idx.check("A1", 31.02, 121.02).inside
    assert idx.check("A1", 31.002, 122.008).inside
    assert idx.check("A1", 31.0, 121.5).distance_m == pytest.approx(0.4 * ew, rel=5e-3)
    assert idx.check("A2", 31.02, 121.02).zone_id is None


INVALID: list[tuple[str, Any, str]] = [
    ("point", {"type": "Point", "coordinates": [1, 2]}, "must be Polygon or MultiPolygon"),
    ("not an object", [[1, 2]], "must be a GeoJSON object"),
    (
        "unclosed",
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]},
        "ring is not closed",
    ),
    (
        "self-intersecting",
        {"type": "Polygon", "coordinates": [[[0, 0], [0.01, 0.01], [0.01, 0], [0, 0.01], [0, 0]]]},
        "ring self-intersects near [lon 0.005",
    ),
    (
        "too shallow",
        {"type": "Polygon", "coordinates": [[0, 0], [1, 0], [1, 1], [0, 0]]},
        "wrong nesting",
    ),
    (
        "multipolygon as polygon",
        {"type": "MultiPolygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]},
        "wrong nesting",
    ),
    (
        "hole outside",
        {
            "type": "Polygon",
            "coordinates": [
                [[0, 0], [0.01, 0], [0.01, 0.01], [0, 0.01], [0, 0]],
                [[0.02, 0.02], [0.03, 0.02], [0.03, 0.03], [0.02, 0.02]],
            ],
        },
        "hole lies (partly) outside its shell",
    ),
    (
        "lat out of range, swapped",
        {
            "type": "Polygon",
            "coordinates": [[[31.0, 121.0], [31.1, 121.0], [31.1, 121.1], [31.0, 121.0]]],
        },
        "looks like [lat, lon]",
    ),
    (
        "lon out of range",
        {
            "type": "Polygon",
            "coordinates": [[[181.0, 1.0], [182.0, 1.0], [182.0, 2.0], [181.0, 1.0]]],
        },
        "longitude 181.0 out of range",
    ),
    (
        "too few positions",
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]},
        "at least 4 positions",
    ),
    (
        "not numbers",
        {"type": "Polygon", "coordinates": [[[0, 0], ["1", 0], [1, 1], [0, 0]]]},
        "finite numbers",
    ),
    (
        "nan",
        {"type": "Polygon", "coordinates": [[[0, 0], [float("nan"), 0], [1, 1], [0, 0]]]},
        "finite numbers",
    ),
    (
        "overlapping parts",
        {
            "type": "MultiPolygon",
            "coordinates": [
                [[[0, 0], [0.02, 0], [0.02, 0.02], [0, 0.02], [0, 0]]],
                [[[0.01, 0.01], [0.03, 0.01], [0.03, 0.03], [0.01, 0.03], [0.01, 0.01]]],
            ],
        },
        "parts coordinates[0] and [1] overlap",
    ),
    (
        "no area",
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [2, 2], [0, 0]]]},
        "ring has no area",
    ),
    ("huge", square(-170.0, -80.0, 170.0, 80.0), "zone is too large"),
]


@pytest.mark.parametrize(("name", "geometry", "message"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_geojson_is_named(name: str, geometry: Any, message: str) -> None:
    with pytest.raises(GeoJSONError) as err:
        parse_zone_geometry(geometry)
    assert message in str(err.value), f"{name}: {err.value}"


def test_swapped_axes_caught_by_the_declared_base() -> None:
    # Shanghai written [lat, lon] with both values valid as lon/lat: 31.x is a fine longitude
    # and 21.x a fine latitude, so only the base point can tell.
    swapped = {
        "type": "Polygon",
        "coordinates": [[[31.0, 21.0], [31.1, 21.0], [31.1, 21.1], [31.0, 21.1], [31.0, 21.0]]],
    }
    parse_zone_geometry(swapped)  # valid as such without a base
    with pytest.raises(GeoJSONError, match="look swapped"):
        parse_zone_geometry(swapped, base=(31.05, 21.05))
    parse_zone_geometry(swapped, base=(21.05, 31.05))  # as given it is right there
