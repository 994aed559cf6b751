"""Scripting incidents onto assets, and the ground truth they produce.

:func:`plan_incidents` turns a scenario into concrete :class:`Incident` values
(asset, device, start, end, parameters) before any telemetry is generated, so
the truth file is known up front and the fleet's motion and reporting simply
follow these plans. Every asset gets at most one scripted incident; the rest
stay quiet so that false alarms can be counted.

Some incidents imply others and the truth says so explicitly (``params.companion_of``):
a terminal cut off by a power cut is also ``tamper``; an asset trucked to a
site outside its pledged zone is also ``zone_exit``. A brief zone excursion
that stays inside the dwell time is written with ``expect_alert: false``: it
is a trap for detectors, not an incident.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

from simulators.fleet import Asset, Fleet, Site, Terminal, imo_number, vin_with_check_digit
from simulators.geo import Box, distance_m, offset, polar
from simulators.scenario import MODES, TAMPER_CAUSES, IncidentRequest, Scenario
from simulators.timebase import DAY, HOUR, local_day_start, local_weekday, rfc3339

#: Kinds whose incident reshapes the asset's days (the rest change only what is reported).
PHYSICAL: Final = frozenset({"zone_exit", "relocation", "moved_while_parked", "idle", "decline"})
_LONG: Final = frozenset({"idle", "decline", "relocation", "moved_while_parked"})

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


@dataclass(frozen=True, slots=True)
class Incident:
    """One scripted incident; ``params`` are public and go into the truth line."""

    kind: str
    mode: str
    asset_id: str
    device_id: str
    start: float
    end: float | None
    params: Mapping[str, Any]
    expect_alert: bool = True

    def truth(self) -> dict[str, Any]:
        """The ground-truth object (one JSON line of ``--truth``)."""
        return {
            "device_id": self.device_id,
            "asset_id": self.asset_id,
            "kind": self.kind,
            "start": rfc3339(self.start),
            "end": None if self.end is None else rfc3339(self.end),
            "params": {"mode": self.mode, "expect_alert": self.expect_alert, **self.params},
        }

    def truth_line(self) -> str:
        return json.dumps(self.truth(), ensure_ascii=False, sort_keys=True)

    def active(self, t: float) -> bool:
        return self.start <= t and (self.end is None or t < self.end)


@dataclass(frozen=True, slots=True)
class RegistryExtras:
    """Registry rows that express incidents rather than fleet: double pledges."""

    assets: tuple[Asset, ...] = ()
    bindings: tuple[tuple[str, str, float, str], ...] = ()  # device, asset, from, why
    pledges: tuple[tuple[str, str, float, str], ...] = ()  # asset, loan, from, why
    loans: tuple[tuple[str, str], ...] = ()  # new loan id, borrower id


@dataclass(frozen=True, slots=True)
class IncidentPlan:
    """Everything :func:`plan_incidents` decided: incidents (incl. companions) and registry rows."""

    incidents: tuple[Incident, ...]
    extras: RegistryExtras = field(default_factory=RegistryExtras)

    def truth_lines(self) -> list[str]:
        return [i.truth_line() for i in sorted(self.incidents, key=_order)]


def _order(i: Incident) -> tuple[float, str, str]:
    return (i.start, i.asset_id, i.kind)


def primary_terminal(fleet: Fleet, asset: Asset, kind: str) -> Terminal:
    """The terminal an incident of ``kind`` is reported against (farms have several)."""
    terms = fleet.terminals_of(asset.asset_id)
    if asset.cls != "farm":
        return terms[0]
    role = "power" if kind in ("idle", "decline", "offline", "tamper") else "collar"
    return next(t for t in terms if t.role == role)


def plan_incidents(
    fleet: Fleet, scenario: Scenario, *, start: float, days: float, seed: int
) -> IncidentPlan:
    """Choose assets and times for every incident the scenario asks for."""
    rng = random.Random(f"assetwatch-incidents:{seed}")
    budget = int(len(fleet.assets) * (1.0 - scenario.min_quiet_share))
    taken: set[str] = set()
    incidents: list[Incident] = []
    extras: list[RegistryExtras] = []
    # Interleave the requests: the first pick of every (kind, mode), then the second ...,
    # so that a small fleet still gets every kind before the quiet-asset budget runs out.
    queues = [
        (req, mode, _slots(fleet, req, mode, rng))
        for req in scenario.incidents
        for mode in ([req.mode] if req.mode else list(MODES[req.kind]))
    ]
    while queues and len(taken) < budget:
        still = []
        for req, mode, slots in queues:
            while slots and len(taken) < budget:
                cls = slots.pop(0)
                asset = _pick_one(fleet, req, mode, cls, taken, rng)
                if asset is None:
                    continue
                taken.add(asset.asset_id)
                made, extra = _script(fleet, asset, req, mode, start, days, scenario.early, rng)
                incidents.extend(made)
                if extra is not None:
                    extras.append(extra)
                break
            if slots:
                still.append((req, mode, slots))
        queues = still
    merged = RegistryExtras(
        tuple(a for e in extras for a in e.assets),
        tuple(b for e in extras for b in e.bindings),
        tuple(p for e in extras for p in e.pledges),
        tuple(ln for e in extras for ln in e.loans),
    )
    end = start + days * DAY
    kept = tuple(i for i in incidents if i.start < end)
    return IncidentPlan(kept, merged)


def _eligible(
    fleet: Fleet, req: IncidentRequest, mode: str, cls: str, taken: set[str]
) -> list[Asset]:
    kinds = MODES[req.kind][mode]
    return [
        a
        for a in fleet.assets
        if a.cls == cls
        and a.kind in kinds
        and a.asset_id not in taken
        and not (fleet.terminals_of(a.asset_id)[0].satellite and req.kind not in _LONG)
    ]


def _slots(fleet: Fleet, req: IncidentRequest, mode: str, rng: random.Random) -> list[str]:
    """The classes to draw an asset from, one entry per asset wanted, in round-robin order."""
    classes = [
        c for c in ("vehicle", "ship", "farm", "equipment") if not req.classes or c in req.classes
    ]
    rng.shuffle(classes)
    wanted: dict[str, int] = {}
    for cls in classes:
        n_class = sum(1 for a in fleet.assets if a.cls == cls)
        if not _eligible(fleet, req, mode, cls, set()):
            continue
        if req.count is not None:
            wanted[cls] = req.count
        elif req.share is not None:
            wanted[cls] = max(1, round(req.share * n_class))
        else:
            wanted[cls] = 1
    out: list[str] = []
    while any(wanted.values()):
        for cls in classes:
            if wanted.get(cls):
                out.append(cls)
                wanted[cls] -= 1
    return out


def _pick_one(
    fleet: Fleet, req: IncidentRequest, mode: str, cls: str, taken: set[str], rng: random.Random
) -> Asset | None:
    eligible = _eligible(fleet, req, mode, cls, taken)
    return rng.choice(eligible) if eligible else None


def _start(
    asset: Asset,
    req: IncidentRequest,
    mode: str,
    start: float,
    days: float,
    early: bool,
    rng: random.Random,
) -> float:
    if req.at_day is not None:
        return start + req.at_day * DAY
    long = req.kind in _LONG or mode == "permanent"
    if early:
        lo, hi = 0.05, 0.3
    elif long:
        lo, hi = 0.45, 0.6
    else:
        lo, hi = 0.25, 0.75
    t = start + rng.uniform(lo, hi) * days * DAY
    if req.kind in ("zone_exit", "relocation", "moved_while_parked") or mode in (
        "frozen",
        "replay",
    ):
        # during working hours of a working day, when the move would be noticed
        day = local_day_start(t)
        for _ in range(7):
            if not asset.working_days or local_weekday(day + 12 * HOUR) in asset.working_days:
                break
            day += DAY
        t = day + rng.uniform(10.0, 12.5) * HOUR
        if t < start:
            t += DAY
    elif req.kind == "idle":
        t = local_day_start(t) + DAY
    return t


def _script(
    fleet: Fleet,
    asset: Asset,
    req: IncidentRequest,
    mode: str,
    start: float,
    days: float,
    early: bool,
    rng: random.Random,
) -> tuple[list[Incident], RegistryExtras | None]:
    kind = req.kind
    p: dict[str, Any] = dict(req.params)
    t0 = _start(asset, req, mode, start, days, early, rng)
    dev = primary_terminal(fleet, asset, kind).device_id
    aid = asset.asset_id
    if kind == "zone_exit":
        return _zone_exit(asset, dev, mode, t0, p, rng), None
    if kind == "relocation":
        return _relocation(asset, dev, t0, p, rng), None
    if kind == "moved_while_parked":
        dist = float(p.get("distance_m", rng.uniform(2_000, 4_000)))
        to = Site("displaced", *polar(asset.base.lat, asset.base.lon, dist, rng.uniform(0, 360)))
        speed = TRAVEL_SPEED[asset.kind]
        arrive = t0 + dist / speed
        params = {
            "distance_m": round(dist),
            "to": _pt(to),
            "arrive": rfc3339(arrive),
            "speed_kmh": round(speed * 3.6, 1),
            "engine_on": False,
        }
        main = Incident(kind, mode, aid, dev, t0, None, params)
        return [main, *_companions(asset, dev, main, asset.base, to, t0, speed, reloc=True)], None
    if kind == "idle":
        n = float(p.get("days", min(7.0, max(2.0, 0.3 * days))))
        return [Incident(kind, mode, aid, dev, t0, t0 + n * DAY, {"days": n})], None
    if kind == "decline":
        factor = float(p.get("factor", round(rng.uniform(0.2, 0.4), 2)))
        ramp = float(p.get("ramp_days", 4.0))
        return [
            Incident(kind, mode, aid, dev, t0, None, {"factor": factor, "ramp_days": ramp})
        ], None
    if kind == "offline":
        hours = float(p.get("hours", round(rng.uniform(8, 36), 1)))
        main = Incident(
            kind, mode, aid, dev, t0, t0 + hours * HOUR, {"cause": mode, "hours": hours}
        )
        out = [main]
        if mode in TAMPER_CAUSES:
            out.append(
                Incident(
                    "tamper",
                    mode,
                    aid,
                    dev,
                    t0,
                    t0 + hours * HOUR,
                    {"cause": mode, "companion_of": "offline"},
                )
            )
        return out, None
    if kind == "tamper":
        hours = float(
            p.get(
                "hours",
                round(rng.uniform(4, 12) if mode == "backup_battery" else rng.uniform(0.5, 2), 1),
            )
        )
        return [Incident(kind, mode, aid, dev, t0, t0 + hours * HOUR, {"hours": hours})], None
    if kind == "spoofing":
        return [_spoofing(asset, dev, mode, t0, p, rng)], None
    if kind == "fabrication":
        if mode == "replay":
            shift_days = float(p.get("shift_days", max(1.0, min(7.0, round(0.25 * days)))))
            t0 = max(t0, start + shift_days * DAY + HOUR)
            hours = float(p.get("hours", round(rng.uniform(12, 24), 1)))
            params = {
                "shift_s": shift_days * DAY,
                "hours": hours,
                "source_start": rfc3339(t0 - shift_days * DAY),
            }
        else:
            hours = float(p.get("hours", round(rng.uniform(12, 36), 1)))
            params = {"hours": hours}
        return [Incident(kind, mode, aid, dev, t0, t0 + hours * HOUR, params)], None
    return _double_pledge(fleet, asset, dev, mode, t0, rng)


def _pt(s: Site | tuple[float, float]) -> dict[str, float]:
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


def _zone_exit(
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
        "inside_point": _pt(p_in),
        "outside_point": _pt(p_out),
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
                {"companion_of": "zone_exit", "to": _pt(p_out), "from": _pt(asset.base)},
            )
        )
    return out


def _relocation(
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
        "from": _pt(b),
        "to": _pt(to),
        "distance_km": round(dist / 1000, 1),
        "arrive": rfc3339(t0 + dist / speed),
        "speed_kmh": round(speed * 3.6, 1),
    }
    main = Incident("relocation", "move", asset.asset_id, dev, t0, None, params)
    return [main, *_companions(asset, dev, main, b, to, t0, speed, reloc=False)]


def _companions(
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
                {"companion_of": main.kind, "from": _pt(a), "to": _pt(bb)},
            )
        )
    return out


def _spoofing(
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


def _double_pledge(
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
            identity=_fresh_identity(asset, rng),
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


def _fresh_identity(asset: Asset, rng: random.Random) -> dict[str, object]:
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


def by_device(incidents: Sequence[Incident]) -> dict[str, list[Incident]]:
    out: dict[str, list[Incident]] = {}
    for i in incidents:
        out.setdefault(i.device_id, []).append(i)
    return out
