"""The shape of each incident: where it goes, how fast, when it crosses the line.

Given an asset and a start time these functions build the concrete
:class:`~simulators.truth.Incident` values, computing exact boundary-crossing
times from the same straight-line, constant-speed moves that
:mod:`simulators.motion` will then execute, so that truth and track agree.
"""

from __future__ import annotations

import math
import random
from dataclasses import replace
from typing import Any, Final

from simulators.catalogue import imo_number, vin_with_check_digit
from simulators.geo import Box, distance_m, offset, polar
from simulators.portfolio import Asset, Fleet, Site
from simulators.timebase import HOUR, rfc3339
from simulators.truth import Incident, RegistryExtras

#: Speed (m/s) at which an asset of each kind travels on an excursion or relocation.
TRAVEL_SPEED: Final = {
    "truck": 50 / 3.6,
    "fishing": 9 * 0.5144,
    "cargo": 12 * 0.5144,
    "herd": 50 / 3.6,
    "excavator": 40 / 3.6,  # on a low-loader
    "generator": 40 / 3.6,
    "production": 40 / 3.6,
    "laid_up": 5 * 0.5144,  # under tow
}
#: Speed (m/s) of the last stretch across the zone boundary on a zone excursion.
EXCURSION_SPEED: Final = {"truck": 30 / 3.6, "fishing": 8 * 0.5144, "excavator": 5 / 3.6}


def point(s: Site | tuple[float, float]) -> dict[str, float]:
    lat, lon = (s.lat, s.lon) if isinstance(s, Site) else s
    return {"lat": round(lat, 6), "lon": round(lon, 6)}


def crossing_time(
    zone: Box,
    buffer_m: float,
    a: tuple[float, float],
    b: tuple[float, float],
    t_a: float,
    t_b: float,
) -> float | None:
    """When a straight, constant-speed move from ``a`` to ``b`` leaves the zone plus buffer."""
    if not zone.contains(*a, buffer_m) or zone.contains(*b, buffer_m):
        return None
    lo, hi = 0.0, 1.0
    for _ in range(40):
        mid = (lo + hi) / 2
        pt = (a[0] + (b[0] - a[0]) * mid, a[1] + (b[1] - a[1]) * mid)
        if zone.contains(*pt, buffer_m):
            lo = mid
        else:
            hi = mid
    return t_a + (t_b - t_a) * hi


def zone_exit_incidents(
    asset: Asset, dev: str, mode: str, t0: float, p: dict[str, Any], rng: random.Random
) -> list[Incident]:
    z, buf = asset.zone, asset.buffer_m
    # leave across the edge nearest to the base, perpendicular to it
    c_lat, c_lon = asset.base.lat, asset.base.lon
    gaps = {
        "north": distance_m(c_lat, c_lon, z.north, c_lon),
        "south": distance_m(c_lat, c_lon, z.south, c_lon),
        "east": distance_m(c_lat, c_lon, c_lat, z.east),
        "west": distance_m(c_lat, c_lon, c_lat, z.west),
    }
    side = min(gaps, key=lambda k: gaps[k])
    north, east = {"north": (1, 0), "south": (-1, 0), "east": (0, 1), "west": (0, -1)}[side]
    edge = {
        "north": (z.north, c_lon),
        "south": (z.south, c_lon),
        "east": (c_lat, z.east),
        "west": (c_lat, z.west),
    }[side]
    inside_m = 300.0
    beyond = {
        "brief": 150.0,
        "sustained": rng.uniform(3_000, 10_000),
        "permanent": rng.uniform(20_000, 50_000),
    }[mode]
    beyond = float(p.get("beyond_m", beyond))
    p_in = offset(*edge, -north * inside_m, -east * inside_m)
    p_out = offset(*edge, north * (buf + beyond), east * (buf + beyond))
    v_ap = TRAVEL_SPEED[asset.kind]
    v_ex = EXCURSION_SPEED[asset.kind]
    approach = distance_m(c_lat, c_lon, *p_in) / v_ap
    leg = distance_m(*p_in, *p_out) / v_ex
    stay = {
        "brief": rng.uniform(60, 180),
        "sustained": rng.uniform(6, 14) * HOUR,
        "permanent": None,
    }[mode]
    if "stay_s" in p:
        stay = float(p["stay_s"])
    depart = t0 - approach  # at P_in at t0
    cross_out = crossing_time(z, buf, p_in, p_out, t0, t0 + leg)
    assert cross_out is not None
    end: float | None = None
    if stay is not None:
        back_at_out = t0 + leg + stay
        end = back_at_out + (t0 + leg - cross_out)  # symmetric way back
    params: dict[str, Any] = {
        "buffer_m": buf,
        "beyond_buffer_m": round(beyond),
        "side": side,
        "depart": rfc3339(depart),
        "inside_point": point(p_in),
        "outside_point": point(p_out),
        "stay_s": None if stay is None else round(stay),
        "outside_s": None if end is None else round(end - cross_out),
        "speed_kmh": round(v_ex * 3.6, 1),
    }
    if mode == "brief":
        params["note"] = "excursion shorter than any sensible dwell time: must NOT alert"
    out = [
        Incident("zone_exit", mode, asset.asset_id, dev, cross_out, end, params, mode != "brief")
    ]
    if mode == "permanent":
        out.append(
            Incident(
                "relocation",
                "move",
                asset.asset_id,
                dev,
                t0 + leg,
                None,
                {"companion_of": "zone_exit", "to": point(p_out), "from": point(asset.base)},
            )
        )
    return out


def relocation_incidents(
    asset: Asset, dev: str, t0: float, p: dict[str, Any], rng: random.Random
) -> list[Incident]:
    b = asset.base
    z = asset.zone
    to: tuple[float, float] | None = None
    if asset.kind in ("truck", "fishing"):
        shrunk_ok = [
            pt
            for pt in (
                polar(b.lat, b.lon, rng.uniform(15_000, 40_000), rng.uniform(0, 360))
                for _ in range(60)
            )
            if z.contains(*pt, -5_000)
        ]
        if asset.kind == "fishing":
            shrunk_ok = [pt for pt in shrunk_ok if pt[1] > b.lon]  # stay at sea, east of the berth
        to = shrunk_ok[0] if shrunk_ok else None
    if to is None:
        to = polar(b.lat, b.lon, rng.uniform(30_000, 80_000), rng.uniform(0, 360))
    if "to" in p:
        to = (float(p["to"]["lat"]), float(p["to"]["lon"]))
    speed = TRAVEL_SPEED[asset.kind]
    dist = distance_m(b.lat, b.lon, *to)
    params = {
        "from": point(b),
        "to": point(to),
        "distance_km": round(dist / 1000, 1),
        "arrive": rfc3339(t0 + dist / speed),
        "speed_kmh": round(speed * 3.6, 1),
    }
    main = Incident("relocation", "move", asset.asset_id, dev, t0, None, params)
    return [main, *companions(asset, dev, main, b, to, t0, speed, reloc=False)]


def companions(
    asset: Asset,
    dev: str,
    main: Incident,
    a: Site,
    b: Site | tuple[float, float],
    t0: float,
    speed: float,
    *,
    reloc: bool,
) -> list[Incident]:
    bb = (b.lat, b.lon) if isinstance(b, Site) else b
    t1 = t0 + distance_m(a.lat, a.lon, *bb) / speed
    out: list[Incident] = []
    cross = crossing_time(asset.zone, asset.buffer_m, (a.lat, a.lon), bb, t0, t1)
    if cross is not None:
        out.append(
            Incident(
                "zone_exit",
                "permanent",
                asset.asset_id,
                dev,
                cross,
                None,
                {"companion_of": main.kind, "buffer_m": asset.buffer_m},
            )
        )
    if reloc:
        out.append(
            Incident(
                "relocation",
                "move",
                asset.asset_id,
                dev,
                t0,
                None,
                {"companion_of": main.kind, "from": point(a), "to": point(bb)},
            )
        )
    return out


def spoofing_incident(
    asset: Asset, dev: str, mode: str, t0: float, p: dict[str, Any], rng: random.Random
) -> Incident:
    if mode == "teleport":
        minutes = float(p.get("minutes", round(rng.uniform(20, 90))))
        dist = float(p.get("distance_km", round(rng.uniform(400, 1500)))) * 1000
        bearing = rng.uniform(0, 360)
        north, east = dist * math.cos(math.radians(bearing)), dist * math.sin(math.radians(bearing))
        return Incident(
            "spoofing",
            mode,
            asset.asset_id,
            dev,
            t0,
            t0 + minutes * 60,
            {
                "minutes": minutes,
                "offset_north_m": round(north),
                "offset_east_m": round(east),
                "distance_km": round(dist / 1000),
            },
        )
    if mode == "frozen":
        hours = float(p.get("hours", round(rng.uniform(3, 5), 1)))
        return Incident(
            "spoofing",
            mode,
            asset.asset_id,
            dev,
            t0,
            t0 + hours * HOUR,
            {"hours": hours, "note": "position repeats exactly while engine hours advance"},
        )
    back = float(p.get("engine_hours_back", round(rng.uniform(200, 800))))
    km_back = float(p.get("odometer_km_back", round(rng.uniform(5_000, 20_000))))
    return Incident(
        "spoofing",
        mode,
        asset.asset_id,
        dev,
        t0,
        t0,
        {"engine_hours_back": back, "odometer_km_back": km_back},
    )


def double_pledge_incidents(
    fleet: Fleet, asset: Asset, dev: str, mode: str, t0: float, rng: random.Random
) -> tuple[list[Incident], RegistryExtras]:
    others = [b for b in fleet.borrowers if b.borrower_id != asset.borrower_id]
    other = rng.choice(others).borrower_id if others else asset.borrower_id
    suffix = "G" if mode == "terminal_two_assets" else "D"
    twin_id = f"{asset.asset_id}{suffix}"
    # One loan per twin: two double pledges on assets of the same loan must not
    # produce the same loan id.
    loan_id = f"{asset.loan_id}-DP-{twin_id}"
    if mode == "terminal_two_assets":
        twin = replace(
            asset,
            asset_id=twin_id,
            borrower_id=other,
            loan_id=loan_id,
            name=f"{asset.name} (second asset on the same terminal)",
            identity=fresh_identity(asset, rng),
        )
        extras = RegistryExtras(
            assets=(twin,),
            bindings=((dev, twin_id, t0, "second installation claimed on an existing terminal"),),
            pledges=((twin_id, loan_id, t0, "loan origination"),),
            loans=((loan_id, other),),
        )
        params: dict[str, Any] = {"assets": [asset.asset_id, twin_id], "terminal": dev}
    else:
        twin = replace(
            asset,
            asset_id=twin_id,
            borrower_id=other,
            loan_id=loan_id,
            name=f"{asset.name} (same identity pledged again)",
        )
        extras = RegistryExtras(
            assets=(twin,),
            pledges=((twin_id, loan_id, t0, "loan origination"),),
            loans=((loan_id, other),),
        )
        params = {
            "assets": [asset.asset_id, twin_id],
            "identity": dict(asset.identity),
            "loans": [asset.loan_id, loan_id],
        }
    return [Incident("double_pledge", mode, twin_id, dev, t0, None, params)], extras


def fresh_identity(asset: Asset, rng: random.Random) -> dict[str, object]:
    ident = dict(asset.identity)
    # VIN and IMO carry check digits: draw valid new ones rather than edit digits.
    if "vin" in ident:
        ident["vin"] = vin_with_check_digit(rng)
    if "imo" in ident:
        ident["imo"] = imo_number(rng)
    for key in ("serial", "registry_no"):
        if key in ident:
            ident[key] = f"{ident[key]}"[:-3] + f"{rng.randrange(1000):03d}"
    if "mmsi" in ident:
        ident["mmsi"] = str(int(str(ident["mmsi"])) + 1 + rng.randrange(1000))
    if "plate" in ident:
        ident["plate"] = str(ident["plate"])[:-2] + f"{rng.randrange(100):02d}"
    return ident
