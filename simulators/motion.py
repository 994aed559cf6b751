"""Where an asset is and what its engine does, as a timeline of segments.

Each asset's life is planned one local day at a time from its own seeded
random stream: trucks run trips from the depot to work sites on working days,
fishing boats go out before dawn and trawl, cargo ships sail between two
ports, excavators work shifts with idle spells and small moves, generators and
production machines run fixed shifts, laid-up ships and pastures stay put.
Physical incidents (relocation, zone excursions, displacement, idling,
decline) override a day's plan exactly as :mod:`simulators.incidents` scripted
them, so the truth and the track agree.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Sequence
from dataclasses import dataclass

from simulators.geo import bearing_deg, distance_m, offset
from simulators.incidents import EXCURSION_SPEED, PHYSICAL, TRAVEL_SPEED, Incident
from simulators.portfolio import Asset, Site
from simulators.timebase import DAY, HOUR, local_day_start, local_weekday


@dataclass(slots=True)
class Segment:
    """A stretch of time at constant speed along a straight line (or standing still)."""

    t0: float
    t1: float
    lat0: float
    lon0: float
    lat1: float
    lon1: float
    engine: bool
    load: float
    moving: bool
    speed_ms: float = 0.0  # constant along the segment (set when planned)
    heading: float = 0.0

    def position(self, t: float) -> tuple[float, float]:
        if not self.moving or self.t1 <= self.t0:
            return self.lat0, self.lon0
        f = min(1.0, max(0.0, (t - self.t0) / (self.t1 - self.t0)))
        return self.lat0 + (self.lat1 - self.lat0) * f, self.lon0 + (self.lon1 - self.lon0) * f


class Motion:
    """The planned timeline of one asset; query :meth:`segment_at` in roughly rising time."""

    def __init__(
        self, asset: Asset, incidents: Sequence[Incident], *, seed: int, start: float
    ) -> None:
        self.asset = asset
        self.rng = random.Random(f"assetwatch-motion:{seed}:{asset.asset_id}")
        own = [i for i in incidents if i.kind in PHYSICAL and "companion_of" not in i.params]
        self.events = sorted(own, key=lambda i: i.start)
        self.idle = [i for i in self.events if i.kind == "idle"]
        self.decline = next((i for i in self.events if i.kind == "decline"), None)
        self.force_work: list[tuple[float, float]] = []
        self.base = asset.base
        self.sites = list(asset.sites)
        self.port_b = self.sites[0] if asset.kind == "cargo" and self.sites else None
        self.at_home = True
        self.segs: list[Segment] = []
        self.starts: list[float] = []
        self.day = local_day_start(start)
        self.lat, self.lon = self.base.lat, self.base.lon
        self.t = self.day

    # -- queries ---------------------------------------------------------------
    def segment_at(self, t: float) -> Segment:
        while self.t <= t:
            self._plan_day()
        i = bisect.bisect_right(self.starts, t) - 1
        seg = self.segs[max(i, 0)]
        if i > 200:  # forget the distant past; devices only look back a little
            keep = next(k for k in range(i) if self.segs[k].t1 > t - 3 * DAY)
            if keep > 100:
                del self.segs[:keep]
                del self.starts[:keep]
        return seg

    def segments_between(self, a: float, b: float) -> list[Segment]:
        """Segments overlapping [a, b) (for integrating counters)."""
        self.segment_at(b)
        i = max(bisect.bisect_right(self.starts, a) - 1, 0)
        out = []
        while i < len(self.segs) and self.segs[i].t0 < b:
            out.append(self.segs[i])
            i += 1
        return out

    def intensity(self, t: float) -> float:
        """Operating intensity 0..1 from idle windows and decline (farms read it directly)."""
        if any(i.active(t) for i in self.idle):
            return 0.0
        d = self.decline
        if d is None or t < d.start:
            return 1.0
        ramp = float(d.params["ramp_days"]) * DAY
        f = float(d.params["factor"])
        return 1.0 - (1.0 - f) * min(1.0, (t - d.start) / ramp)

    # -- building blocks -------------------------------------------------------
    def _add(
        self, t1: float, lat1: float, lon1: float, *, engine: bool, load: float, moving: bool
    ) -> None:
        if t1 <= self.t:
            return
        speed = heading = 0.0
        if moving:
            speed = distance_m(self.lat, self.lon, lat1, lon1) / (t1 - self.t)
            heading = bearing_deg(self.lat, self.lon, lat1, lon1)
        seg = Segment(
            self.t, t1, self.lat, self.lon, lat1, lon1, engine, load, moving, speed, heading
        )
        self.segs.append(seg)
        self.starts.append(self.t)
        self.t, self.lat, self.lon = t1, lat1, lon1

    def _park(self, until: float, *, engine: bool = False, load: float = 0.0) -> None:
        self._add(until, self.lat, self.lon, engine=engine, load=load, moving=False)

    def _go(
        self, lat: float, lon: float, speed: float, *, engine: bool = True, load: float = 0.5
    ) -> None:
        dist = distance_m(self.lat, self.lon, lat, lon)
        self._add(self.t + max(dist / speed, 1.0), lat, lon, engine=engine, load=load, moving=True)

    def _move_base(self, lat: float, lon: float) -> None:
        dn = (lat - self.base.lat) * 111_195.0
        de = distance_m(self.base.lat, self.base.lon, self.base.lat, lon) * (
            1 if lon >= self.base.lon else -1
        )
        self.sites = [Site(s.name, *offset(s.lat, s.lon, dn, de)) for s in self.sites]
        self.base = Site(self.base.name + " (new)", lat, lon)
        self.at_home = True

    # -- the day planner -------------------------------------------------------
    def _plan_day(self) -> None:
        day = self.day
        end = day + DAY
        self.day = end
        event = next(
            (
                e
                for e in self.events
                if day <= e.start < end and e.kind != "idle" and e.kind != "decline"
            ),
            None,
        )
        if self.t >= end:
            return
        if event is not None:
            self._plan_event(event)
        elif self._idle_day(day):
            pass
        else:
            self._plan_normal(day)
        self._park(end)

    def _idle_day(self, day: float) -> bool:
        if any(i.start < day + DAY and (i.end is None or i.end > day) for i in self.idle):
            return True
        a = self.asset
        forced = any(day <= s < day + DAY for s, _e in self.force_work)
        return not forced and (
            not a.working_days or local_weekday(day + 12 * HOUR) not in a.working_days
        )

    def _plan_event(self, e: Incident) -> None:
        a = self.asset
        p = e.params
        if e.kind == "zone_exit":
            pin, pout = p["inside_point"], p["outside_point"]
            self._go_home_first()
            self._park(_parse(p["depart"]))
            self._go(pin["lat"], pin["lon"], TRAVEL_SPEED[a.kind])
            v = EXCURSION_SPEED[a.kind]
            self._go(pout["lat"], pout["lon"], v)
            if p["stay_s"] is None:
                self._move_base(pout["lat"], pout["lon"])
                return
            self._park(self.t + float(p["stay_s"]), engine=a.kind == "excavator", load=0.3)
            self._go(pin["lat"], pin["lon"], v)
            self._go(self.base.lat, self.base.lon, TRAVEL_SPEED[a.kind])
            return
        # relocation and displacement: stand at base until the move, then go
        self._go_home_first()
        self._park(e.start)
        to = p["to"]
        engine = a.kind in ("truck", "fishing", "cargo") and e.kind == "relocation"
        self._go(to["lat"], to["lon"], TRAVEL_SPEED[a.kind], engine=engine, load=0.4)
        self._move_base(to["lat"], to["lon"])

    def _go_home_first(self) -> None:
        if distance_m(self.lat, self.lon, self.base.lat, self.base.lon) > 1.0:
            self._go(self.base.lat, self.base.lon, TRAVEL_SPEED[self.asset.kind])

    def _plan_normal(self, day: float) -> None:
        a, rng = self.asset, self.rng
        f = self.intensity(day + 12 * HOUR)
        forced = any(day <= s < day + DAY for s, _e in self.force_work)
        if f <= 0.0 or (rng.random() < 0.03 and not forced):
            return
        kind = a.kind
        if kind == "truck":
            self._truck_day(day, f)
        elif kind == "fishing":
            self._fishing_day(day, f)
        elif kind == "cargo":
            self._cargo_day(day, f)
        elif kind in ("excavator", "generator", "production"):
            self._machine_day(day, f)
        # laid_up ships and herds stand still (collars graze on their own)

    def _truck_day(self, day: float, f: float) -> None:
        rng = self.rng
        self._park(day + rng.uniform(6.8, 8.5) * HOUR)
        finish = self.t + self.asset.hours_per_day * f * rng.uniform(0.85, 1.1) * HOUR
        here = None
        while self.t < finish and self.sites:
            site = rng.choice([s for s in self.sites if s is not here] or self.sites)
            here = site
            self._drive(site.lat, site.lon, rng.uniform(38, 62) / 3.6)
            self._park(self.t + rng.uniform(2, 12) * 60, engine=True, load=0.1)  # idling on arrival
            self._park(self.t + rng.uniform(15, 80) * 60)
        self._drive(self.base.lat, self.base.lon, rng.uniform(40, 60) / 3.6)

    def _drive(self, lat: float, lon: float, speed: float) -> None:
        """A road trip: legs of 1.5-6 km at varying speed, with stops at junctions and lights.

        The stops (engine on, 15-90 s) are what makes naive stop/start detection flap.
        """
        rng = self.rng
        lat0, lon0 = self.lat, self.lon
        total = distance_m(lat0, lon0, lat, lon)
        done = 0.0
        while True:
            done = min(total, done + rng.uniform(1_500, 6_000))
            f = done / total if total > 0 else 1.0
            leg_speed = speed * rng.uniform(0.7, 1.15)
            self._go(lat0 + (lat - lat0) * f, lon0 + (lon - lon0) * f, leg_speed,
                     load=rng.uniform(0.4, 0.8))  # fmt: skip
            if done >= total:
                return
            if rng.random() < 0.5:
                self._park(self.t + rng.uniform(15, 90), engine=True, load=0.1)

    def _fishing_day(self, day: float, f: float) -> None:
        rng = self.rng
        ground = self.sites[0]
        self._park(day + rng.uniform(4.0, 6.0) * HOUR)
        self._go(ground.lat, ground.lon, rng.uniform(8.5, 10.5) * 0.5144, load=0.7)
        trawl_end = self.t + max(1.0, self.asset.hours_per_day * f - 3) * HOUR
        while self.t < trawl_end:
            lat, lon = offset(
                ground.lat, ground.lon, rng.uniform(-4000, 4000), rng.uniform(-4000, 4000)
            )
            self._go(lat, lon, rng.uniform(2.5, 4.0) * 0.5144, load=0.8)
        self._go(self.base.lat, self.base.lon, rng.uniform(8.5, 10.5) * 0.5144, load=0.6)

    def _cargo_day(self, day: float, f: float) -> None:
        rng = self.rng
        if self.port_b is None or rng.random() > 0.5 * f:
            return  # in port today
        self._park(day + rng.uniform(6, 10) * HOUR)
        dest = self.port_b if self.at_home else self.base
        mid_lat = (self.lat + dest.lat) / 2
        way = offset(mid_lat, max(self.lon, dest.lon), 0, 60_000)
        v = rng.uniform(11, 14) * 0.5144
        self._go(*way, v, load=0.7)
        self._go(dest.lat, dest.lon, v, load=0.7)
        self.at_home = not self.at_home

    def _machine_day(self, day: float, f: float) -> None:
        rng, a = self.rng, self.asset
        start = 7.0 if a.kind != "production" else 6.0
        self._park(day + (start + rng.uniform(0, 1.0)) * HOUR)
        finish = self.t + a.hours_per_day * f * rng.uniform(0.9, 1.05) * HOUR
        while self.t < finish:
            block = rng.uniform(0.7, 2.5) * HOUR
            stop = min(finish, self.t + block)
            while self.t < stop:
                if rng.random() < 0.25:
                    self._park(
                        self.t + rng.uniform(5, 20) * 60, engine=True, load=rng.uniform(0.03, 0.12)
                    )
                else:
                    self._park(
                        self.t + rng.uniform(15, 45) * 60, engine=True, load=rng.uniform(0.45, 0.9)
                    )
                if a.kind == "excavator" and rng.random() < 0.3:
                    lat, lon = offset(
                        self.base.lat, self.base.lon, rng.uniform(-250, 250), rng.uniform(-250, 250)
                    )
                    self._go(lat, lon, 3 / 3.6, load=0.3)
            self._park(self.t + rng.uniform(10, 50) * 60)


def _parse(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
