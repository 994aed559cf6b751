"""One simulated terminal: what it measures and reports at each of its ticks.

A :class:`Device` samples its asset's :class:`~simulators.motion.Motion` at
its own cadence, integrates its counters (engine hours, odometer, fuel, idle
hours, energy) exactly over the segments in between, adds GPS noise (bounded
metre-level jitter while parked, rare multipath jumps with a high hdop) and a
constant clock skew, and then applies the reporting incidents scripted for it
(offline, tamper, spoofing, fabrication). Delivery effects (loss, duplicates,
blind-area and satellite batches) belong to :mod:`simulators.engine`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from simulators.fixes import Fix, Truth
from simulators.geo import offset
from simulators.incidents import PHYSICAL, Incident
from simulators.motion import Motion
from simulators.portfolio import Asset, Terminal
from simulators.reporting import Reporter
from simulators.scenario import Noise
from simulators.timebase import DAY, HOUR, local_hour


class Device:
    """A terminal's state machine; call :meth:`tick` with rising true times."""

    def __init__(
        self,
        terminal: Terminal,
        asset: Asset,
        motion: Motion,
        incidents: Sequence[Incident],
        noise: Noise,
        *,
        seed: int,
        start: float,
    ) -> None:
        self.term = terminal
        self.asset = asset
        self.motion = motion
        self.noise = noise
        rng = self.rng = random.Random(f"assetwatch-device:{seed}:{terminal.device_id}")
        self.reporting = sorted(
            (
                i
                for i in incidents
                if i.kind not in PHYSICAL
                and i.kind != "double_pledge"
                and "companion_of" not in i.params
            ),
            key=lambda i: i.start,
        )
        skew = rng.uniform(-noise.clock_skew_s, noise.clock_skew_s)
        if rng.random() < noise.skewed_share:
            skew = rng.uniform(-90, 60)
        self.skew = skew
        self.scale = 1.0 + rng.uniform(-noise.cadence_jitter, noise.cadence_jitter)
        self.seq = rng.randrange(1, 5000)
        self.last_t = start
        self.alt = 0.0 if asset.cls == "ship" else round(rng.uniform(5, 900), 1)
        self.heading = rng.uniform(0, 360)
        self.engine_hours = round(rng.uniform(300, 9000), 1)
        self.odometer_km = round(rng.uniform(20_000, 400_000), 1) if asset.cls == "vehicle" else 0.0
        tank = asset.size * 2 if asset.cls == "equipment" else asset.size
        self.tank_l = tank
        self.fuel_l = tank * rng.uniform(0.4, 0.95)
        self.idle_hours = round(self.engine_hours * rng.uniform(0.15, 0.3), 1)
        self.fuel_used_l = round(self.engine_hours * asset.size * 0.08, 1)
        self.energy_kwh = round(rng.uniform(10_000, 300_000), 1)
        self.power_kw = 0.0
        self.silo = rng.uniform(40, 90)
        self.batt = rng.uniform(3.55, 3.7)
        self.ou = [0.0, 0.0]
        self.jit = [0.0, 0.0]
        self.reporter = Reporter(self.reporting, skew)
        self.truth: Truth | None = None
        self.announced: set[int] = set()
        for inc in self.reporting:
            if inc.mode in ("frozen", "replay"):
                motion.force_work.append((inc.start, inc.end or inc.start))
                if inc.mode == "replay":
                    shift = float(inc.params["shift_s"])
                    motion.force_work.append((inc.start - shift, (inc.end or inc.start) - shift))

    # -- cadence ------------------------------------------------------------------
    def interval(self, moving: bool, engine: bool) -> float:
        role, sat = self.term.role, self.term.satellite
        if role == "tracker":
            base = 30.0 if engine else 300.0
        elif role == "ais":
            base = 1800.0 if sat else (60.0 if moving else 180.0)
        elif role == "aemp":
            base = 600.0 if self.term.protocol == "aemp" else (60.0 if engine else 600.0)
        else:
            base = float(self.term.expected_interval_s)
        return base * self.scale * (1.0 + self.rng.uniform(-0.03, 0.03))

    # -- one tick -------------------------------------------------------------------
    def tick(self, t: float) -> tuple[Fix | None, float]:
        """The fix reported at true time ``t`` (or None) and the next tick's true time."""
        self._integrate(t)
        seg = self.motion.segment_at(t)
        for idx, inc in enumerate(self.reporting):
            if inc.kind == "offline" and inc.active(t):
                end = inc.end if inc.end is not None else math.inf
                if idx in self.announced or inc.mode == "silent":
                    return None, end
                self.announced.add(idx)
                fix = self._measure(t, seg)
                return self.reporter.offline_notice(fix, inc.mode), end
        fix = self._measure(t, seg)
        nxt = t + self.interval(seg.moving, seg.engine)
        for inc in self.reporting:
            if t < inc.start < nxt and inc.kind in ("offline", "fabrication", "spoofing"):
                nxt = inc.start  # land exactly on the incident's first moment
        rep = self.reporter
        rep.replay_next = None
        reported = rep.report(fix, t)
        if rep.replay_next is not None and rep.replay_next > t:
            nxt = rep.replay_next
        return reported, nxt

    def _integrate(self, t: float) -> None:
        a = self.last_t
        if t <= a:
            return
        cls = self.asset.cls
        for seg in self.motion.segments_between(a, t):
            lo, hi = max(a, seg.t0), min(t, seg.t1)
            dt = hi - lo
            if dt <= 0:
                continue
            if seg.engine:
                self.engine_hours += dt / HOUR
                if seg.load < 0.15:
                    self.idle_hours += dt / HOUR
                if cls == "equipment":
                    litres = self.asset.size * (0.03 + 0.22 * seg.load) * dt / HOUR
                    self.fuel_used_l += litres
                    self.fuel_l -= litres
                elif cls == "vehicle" and not seg.moving:
                    self.fuel_l -= 2.5 * dt / HOUR
            if seg.moving:
                km = seg.speed_ms * dt / 1000.0
                self.odometer_km += km
                if cls == "vehicle":
                    self.fuel_l -= 0.32 * km
        if self.fuel_l < 0.22 * self.tank_l:
            self.fuel_l = self.tank_l * 0.95  # refuelled
        self.last_t = t

    def _measure(self, t: float, seg: object) -> Fix:
        from simulators.motion import Segment

        assert isinstance(seg, Segment)
        rng, n = self.rng, self.noise
        role = self.term.role
        self.seq += 1
        tt = t + self.skew
        lat, lon = seg.position(t)
        moving = seg.moving
        if role == "collar":
            lat, lon = self._graze(t, lat, lon, moving)
        self.truth = Truth(t, lat, lon, moving)
        if moving:
            self.heading = seg.heading
        speed = seg.speed_ms * 3.6 * (1 + rng.uniform(-0.04, 0.04)) if moving else 0.0
        hdop = round(rng.uniform(0.7, 1.6), 1)
        sats = rng.randrange(8, 17)
        # metre-level jitter: a random walk pulled back to the true point, clipped to the radius
        r = n.jitter_radius_m
        for k in (0, 1):
            self.jit[k] = 0.6 * self.jit[k] + rng.gauss(0.0, n.parked_sigma_m * 0.8)
        d = math.hypot(*self.jit)
        if r > 0 and d > r:
            self.jit = [self.jit[0] * r / d, self.jit[1] * r / d]
        dn, de = self.jit
        if n.multipath_p and rng.random() < n.multipath_p:
            far, ang = rng.uniform(60, 400), rng.uniform(0, 2 * math.pi)
            dn, de = far * math.cos(ang), far * math.sin(ang)
            hdop, sats = round(rng.uniform(6, 20), 1), rng.randrange(3, 6)
        if dn or de:
            lat, lon = offset(lat, lon, dn, de)
        lat, lon = round(lat, 6), round(lon, 6)
        if role == "tracker":
            return Fix(
                tt,
                self.seq,
                lat,
                lon,
                round(self.alt + rng.uniform(-3, 3), 1),
                round(speed, 1),
                round(self.heading % 360, 1),
                hdop,
                sats,
                seg.engine,
                seg.engine,
                round(self.engine_hours, 2),
                round(self.odometer_km, 1),
                round(100 * self.fuel_l / self.tank_l, 1),
                27.6 if seg.engine else 25.1,
                True,
                False,
            )
        if role == "ais":
            return Fix(
                tt,
                self.seq,
                lat,
                lon,
                None,
                round(speed, 1),
                round(self.heading % 360, 1),
                hdop,
                sats,
                None,
                seg.engine if self.asset.kind != "laid_up" else False,
            )
        if role == "aemp":
            on = seg.engine
            load = (seg.load * 100 + rng.uniform(-5, 5)) if on else 0.0
            load = min(100.0, max(0.0, load))
            self.power_kw = self.asset.size * load / 100
            return Fix(
                tt,
                self.seq,
                lat,
                lon,
                self.alt,
                round(speed, 1),
                None,
                hdop,
                sats,
                on,
                on,
                round(self.engine_hours, 2),
                None,
                round(100 * self.fuel_l / self.tank_l, 1),
                27.8 if on else 24.9,
                True,
                False,
                metrics={
                    "idle_hours": round(self.idle_hours, 2),
                    "fuel_used_l": round(self.fuel_used_l, 1),
                    "load_pct": round(load, 1),
                    "power_kw": round(self.power_kw, 1),
                },
            )
        if role == "collar":
            h = local_hour(t)
            day = 6 <= h < 19
            act = 5.0 if moving else max(0.0, rng.gauss(48 if day else 10, 12 if day else 4))
            temp = 38.6 + 0.3 * math.sin((h - 9) / 24 * 2 * math.pi) + rng.gauss(0, 0.08)
            self.batt -= 0.00002
            return Fix(
                tt,
                self.seq,
                lat,
                lon,
                None,
                None,
                None,
                hdop,
                sats,
                battery_v=round(self.batt, 3),
                metrics={"activity": round(act, 1), "body_temp_c": round(temp, 2)},
            )
        f = self.motion.intensity(t)
        if role == "silo":
            self.silo -= (t - getattr(self, "_silo_t", t)) / DAY * 11.0 * f
            self._silo_t = t
            if self.silo < 15 and 8 <= local_hour(t) < 17:
                self.silo = rng.uniform(90, 97)
            self.batt -= 0.00001
            return Fix(
                tt,
                self.seq,
                battery_v=round(self.batt, 3),
                metrics={"silo_level_pct": round(max(0.0, self.silo), 1)},
            )
        # power meter
        h = local_hour(t)
        heads = self.asset.size
        profile = 1.0 if (5 <= h < 8 or 16 <= h < 19) else (0.5 if 8 <= h < 16 else 0.15)
        kw = (0.8 + heads * 0.004) + heads * 0.02 * profile * f
        kw *= 1 + rng.uniform(-0.05, 0.05)
        dt = t - getattr(self, "_pw_t", t)
        self.energy_kwh += (kw + self.power_kw) / 2 * dt / HOUR
        self._pw_t = t
        self.power_kw = kw
        return Fix(
            tt,
            self.seq,
            ext_power=True,
            tamper=False,
            metrics={"power_kw": round(kw, 2), "energy_kwh": round(self.energy_kwh, 1)},
        )

    def _graze(self, t: float, lat: float, lon: float, moving: bool) -> tuple[float, float]:
        if moving:
            self.ou = [0.0, 0.0]
            return lat, lon
        z = self.asset.zone
        half_ns = (z.north - z.south) * 111_195.0 / 2 - 60
        half_ew = (z.east - z.west) * 111_195.0 * math.cos(math.radians(lat)) / 2 - 60
        for k, half in ((0, half_ns), (1, half_ew)):
            self.ou[k] = 0.9 * self.ou[k] + self.rng.gauss(0, half * 0.12)
            self.ou[k] = max(-half * 0.85, min(half * 0.85, self.ou[k]))
        return offset(lat, lon, self.ou[0], self.ou[1])
