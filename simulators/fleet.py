"""The simulated portfolio: borrowers, loans, assets, their terminals and zones.

Everything here is derived from the seed alone, so the registry written by
``--registry`` and the telemetry generated later always describe the same
fleet. A fleet spec such as ``vehicle=200,ship=20,farm=50,equipment=30``
counts ASSETS; a farm carries four terminals (two collars, a silo sensor and
a power meter), every other asset one.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Final

from simulators.catalogue import (
    CITIES,
    FARMLAND,
    INDUSTRY,
    OEMS,
    OFFICERS,
    PLATE_PREFIX,
    PORTS,
    SUFFIX,
    SURNAMES,
    imo_number,
    vin_with_check_digit,
)
from simulators.errors import ScenarioError
from simulators.geo import Box, offset, polar
from simulators.portfolio import CLASSES, Asset, Borrower, Fleet, Loan, Site, Terminal


def parse_fleet_spec(spec: str) -> dict[str, int]:
    """``"vehicle=200,ship=20"`` -> ``{"vehicle": 200, "ship": 20, ...}`` (missing classes 0)."""
    counts = dict.fromkeys(CLASSES, 0)
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or name not in CLASSES:
            raise ScenarioError(
                f"fleet spec {part!r}: expected CLASS=COUNT with CLASS one of {', '.join(CLASSES)}"
            )
        try:
            n = int(value)
        except ValueError:
            raise ScenarioError(f"fleet spec {part!r}: count {value!r} is not an integer") from None
        if not 0 <= n <= 1_000_000:
            raise ScenarioError(f"fleet spec {part!r}: count must be 0..1000000")
        counts[name] = n
    if sum(counts.values()) == 0:
        raise ScenarioError(f"fleet spec {spec!r} has no assets")
    return counts


FARM_ROLES: Final = ("collar", "collar", "silo", "power")


def _near(
    rng: random.Random, lat: float, lon: float, lo_m: float, hi_m: float
) -> tuple[float, float]:
    la, lo = polar(lat, lon, rng.uniform(lo_m, hi_m), rng.uniform(0, 360))
    return round(la, 6), round(lo, 6)


def build_fleet(counts: Mapping[str, int], seed: int, *, native: bool) -> Fleet:
    """Build the portfolio for ``counts`` assets per class, deterministically from ``seed``.

    ``native`` picks each class's own protocol (JT/T 808, AIS, LoRaWAN, ISO
    15143-3) for the terminals instead of the JSON reading.
    """
    rng = random.Random(f"assetwatch-fleet:{seed}")
    borrowers: list[Borrower] = []
    loans: list[Loan] = []
    assets: list[Asset] = []
    terminals: list[Terminal] = []
    serial = 0
    for cls in CLASSES:
        n = counts.get(cls, 0)
        per_borrower = {"vehicle": 8, "ship": 3, "farm": 2, "equipment": 5}[cls]
        borrower: Borrower | None = None
        loan: Loan | None = None
        for i in range(n):
            if borrower is None or i % per_borrower == 0:
                bidx = len(borrowers) + 1
                region, city, clat, clon = _home_for(cls, rng)
                borrower = Borrower(
                    f"B{bidx:04d}",
                    f"{rng.choice(SURNAMES)} {city} {SUFFIX[cls]} {bidx}",
                    INDUSTRY[cls][0],
                    region,
                    rng.choice(OFFICERS),
                )
                loan = Loan(
                    f"L{bidx:04d}",
                    borrower.borrower_id,
                    rng.randrange(5, 200) * 100_000,
                    INDUSTRY[cls][1],
                )
                borrowers.append(borrower)
                loans.append(loan)
                home = (region, city, clat, clon)
            assert loan is not None
            serial += 1
            asset = _make_asset(cls, i + 1, borrower, loan, home, rng)
            assets.append(asset)
            terminals.extend(_make_terminals(asset, i + 1, rng, native=native))
    by_asset: dict[str, list[Terminal]] = {}
    for t in terminals:
        by_asset.setdefault(t.asset_id, []).append(t)
    return Fleet(
        tuple(borrowers),
        tuple(loans),
        tuple(assets),
        tuple(terminals),
        {a.asset_id: a for a in assets},
        {k: tuple(v) for k, v in by_asset.items()},
    )


def _home_for(cls: str, rng: random.Random) -> tuple[str, str, float, float]:
    table = {"vehicle": CITIES, "equipment": CITIES, "ship": PORTS, "farm": FARMLAND}[cls]
    return rng.choice(table)


def _make_asset(
    cls: str,
    n: int,
    borrower: Borrower,
    loan: Loan,
    home: tuple[str, str, float, float],
    rng: random.Random,
) -> Asset:
    region, city, clat, clon = home
    prefix = {"vehicle": "AV", "ship": "AS", "farm": "AF", "equipment": "AE"}[cls]
    asset_id = f"{prefix}{n:05d}"
    working_days: tuple[int, ...] = (0, 1, 2, 3, 4, 5)
    stationary = False
    declared: dict[str, object] = {}
    identity: dict[str, object]
    if cls == "vehicle":
        kind = "truck"
        blat, blon = _near(rng, clat, clon, 3_000, 25_000)
        base = Site(f"{city} depot {n}", blat, blon)
        sites = tuple(Site(f"site {k}", *_near(rng, blat, blon, 8_000, 45_000)) for k in range(4))
        zone = _box_around([base, *sites], margin_m=15_000)
        plate = (
            f"{PLATE_PREFIX.get(region, '沪')}{rng.choice('ABCDEF')}{rng.randrange(10000, 99999)}"
        )
        identity = {"vin": vin_with_check_digit(rng), "plate": plate}
        name = f"Truck {plate}"
        hours = round(rng.uniform(7, 10), 1)
        size = float(rng.choice((300, 400, 600)))
        buffer_m = 500.0
        declared["fuel_tank_l"] = size
    elif cls == "ship":
        kind = rng.choices(("cargo", "fishing", "laid_up"), weights=(5, 4, 1))[0]
        plat, plon = _near(rng, clat, clon, 200, 1_500)
        base = Site(f"{city} berth {n}", plat, plon)
        if kind == "cargo":
            others = [p for p in PORTS if p[1] != city]
            _r, oname, olat, olon = rng.choice(others)
            sites = (Site(f"{oname} berth", *_near(rng, olat, olon, 200, 1_500)),)
            zone = _box_around([base, *sites, _offshore(base, sites[0])], margin_m=40_000)
            hours = 24.0
            working_days = (0, 1, 2, 3, 4, 5, 6)
        else:
            ground = Site("fishing ground", *_sea_point(rng, plat, plon, 15_000, 40_000))
            sites = (ground,)
            zone = _box_around([base, ground], margin_m=25_000)
            hours = round(rng.uniform(8, 12), 1)
            working_days = (0, 1, 2, 3, 4, 5, 6)
        if kind == "laid_up":
            stationary = True
            hours = 0.0
            working_days = ()
            zone = Box.around(plat, plon, 1_500, 1_500)
        mmsi = f"{rng.choice((412, 413, 414))}{rng.randrange(100000, 999999)}"
        identity = {"mmsi": mmsi, "imo": imo_number(rng)}
        name = f"{'MV' if kind != 'fishing' else 'FV'} {rng.choice(SURNAMES)} {n}"
        size = float(rng.randrange(500, 20_000))
        buffer_m = 1_000.0
        declared["voyages_per_month"] = {"cargo": 8, "fishing": 22, "laid_up": 0}[kind]
    elif cls == "farm":
        kind = "herd"
        base = Site(f"{city} pasture {n}", *_near(rng, clat, clon, 5_000, 60_000))
        zone = Box.around(base.lat, base.lon, rng.uniform(500, 900), rng.uniform(600, 1_100))
        sites = ()
        heads = rng.randrange(80, 600)
        species = rng.choice((2, 3))  # 2 cattle, 3 sheep in the national ear-tag code
        county = rng.randrange(110000, 659000)
        first = rng.randrange(10_000_000, 90_000_000)
        identity = {
            "registry_no": f"{county}-{rng.randrange(1000, 9999)}",
            "ear_tags": [
                [f"{species}{county}{first:08d}", f"{species}{county}{first + heads - 1:08d}"]
            ],
        }
        name = f"{'Cattle' if species == 2 else 'Sheep'} herd {n} ({heads} head)"
        hours = 24.0
        working_days = (0, 1, 2, 3, 4, 5, 6)
        size = float(heads)
        buffer_m = 150.0
        declared["heads"] = heads
        declared["power_kw_typical"] = round(2 + heads * 0.02, 1)
    else:
        kind = rng.choices(("excavator", "generator", "production"), weights=(5, 3, 2))[0]
        base = Site(f"{city} site {n}", *_near(rng, clat, clon, 5_000, 30_000))
        sites = ()
        zone = Box.around(base.lat, base.lon, 1_000, 1_000)
        stationary = kind != "excavator"
        oem, model = rng.choice(OEMS[kind])
        serial = f"{oem[:3].upper()}{model.replace('-', '')[:6]}{rng.randrange(100000, 999999)}"
        identity = {"serial": serial, "oem": oem, "model": model}
        name = f"{oem} {model} #{n}"
        hours = round(rng.uniform(6, 10), 1) if kind != "production" else 16.0
        size = float({"excavator": 120, "generator": 400, "production": 250}[kind])
        buffer_m = 200.0
        declared["power_kw_typical"] = round(size * 0.6, 1)
    declared.update(
        {
            "base": {"name": base.name, "lat": base.lat, "lon": base.lon},
            "region": region,
            "hours_per_day": hours,
            "working_days": list(working_days),
            "season_months": list(range(1, 13)),
        }
    )
    return Asset(
        asset_id=asset_id,
        borrower_id=borrower.borrower_id,
        loan_id=loan.loan_id,
        cls=cls,
        kind=kind,
        name=name,
        identity=identity,
        declared=declared,
        stationary=stationary,
        region=region,
        base=base,
        sites=sites,
        zone=zone,
        buffer_m=buffer_m,
        hours_per_day=hours,
        working_days=working_days,
        size=size,
    )


def _offshore(a: Site, b: Site) -> Site:
    """A waypoint well out to sea between two Chinese ports (the coast faces east)."""
    lat, lon = (a.lat + b.lat) / 2, max(a.lon, b.lon)
    return Site("offshore", *offset(lat, lon, 0, 60_000))


def _sea_point(
    rng: random.Random, lat: float, lon: float, lo: float, hi: float
) -> tuple[float, float]:
    la, lo_ = polar(lat, lon, rng.uniform(lo, hi), rng.uniform(45, 135))  # seaward: east
    return round(la, 6), round(lo_, 6)


def _box_around(sites: list[Site], *, margin_m: float) -> Box:
    south = min(s.lat for s in sites)
    north = max(s.lat for s in sites)
    west = min(s.lon for s in sites)
    east = max(s.lon for s in sites)
    s, w = offset(south, west, -margin_m, -margin_m)
    n, e = offset(north, east, margin_m, margin_m)
    return Box(round(s, 6), round(w, 6), round(n, 6), round(e, 6))


def _make_terminals(asset: Asset, n: int, rng: random.Random, *, native: bool) -> list[Terminal]:
    if asset.cls == "vehicle":
        did = f"veh-{n:05d}"
        return [
            Terminal(
                did,
                asset.asset_id,
                "tracker",
                "jt808" if native else "json",
                300,
                jt808_phone=f"0138{n:08d}",
                jt808_2019=native and rng.random() < 0.25,
            )
        ]
    if asset.cls == "ship":
        satellite = asset.kind == "cargo" and rng.random() < 0.3
        return [
            Terminal(
                f"ship-{n:05d}",
                asset.asset_id,
                "ais",
                "ais" if native else "json",
                6 * 3600 if satellite else 180,
                satellite=satellite,
                mmsi=str(asset.identity["mmsi"]),
            )
        ]
    if asset.cls == "farm":
        out = []
        for k, role in enumerate(FARM_ROLES):
            suffix = f"c{k + 1}" if role == "collar" else role
            out.append(
                Terminal(
                    f"farm-{n:05d}-{suffix}",
                    asset.asset_id,
                    role,
                    "lorawan" if native else "json",
                    3600 if role == "silo" else 900,
                    dev_eui=f"a84041{n:06x}{k:04x}",
                    device_profile=f"{role}-v1",
                )
            )
        return out
    return [
        Terminal(
            f"eqp-{n:05d}",
            asset.asset_id,
            "aemp",
            "aemp" if native else "json",
            600,
            aemp_serial=str(asset.identity["serial"]),
            aemp_xml=native and rng.random() < 0.5,
        )
    ]
