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

import random
from typing import Any, Final

from simulators.geo import polar
from simulators.portfolio import Asset, Fleet, Site, Terminal
from simulators.scenario import MODES, TAMPER_CAUSES, IncidentRequest, Scenario
from simulators.shapes import (
    EXCURSION_SPEED,
    TRAVEL_SPEED,
    companions,
    double_pledge_incidents,
    point,
    relocation_incidents,
    spoofing_incident,
    zone_exit_incidents,
)
from simulators.timebase import DAY, HOUR, local_day_start, local_weekday, rfc3339
from simulators.truth import Incident, IncidentPlan, RegistryExtras, by_device

__all__ = [
    "EXCURSION_SPEED",
    "PHYSICAL",
    "TRAVEL_SPEED",
    "Incident",
    "IncidentPlan",
    "RegistryExtras",
    "by_device",
    "plan_incidents",
    "primary_terminal",
]

#: Kinds whose incident reshapes the asset's days (the rest change only what is reported).
PHYSICAL: Final = frozenset({"zone_exit", "relocation", "moved_while_parked", "idle", "decline"})
_LONG: Final = frozenset({"idle", "decline", "relocation", "moved_while_parked"})


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
    cands = _Candidates(fleet)
    queues = [
        (req, mode, _slots(cands, req, mode, rng))
        for req in scenario.incidents
        for mode in ([req.mode] if req.mode else list(MODES[req.kind]))
    ]
    while queues and len(taken) < budget:
        still = []
        for req, mode, slots in queues:
            while slots and len(taken) < budget:
                cls = slots.pop(0)
                asset = cands.pick(req, mode, cls, taken, rng)
                if asset is None:
                    continue
                taken.add(asset.asset_id)
                cands.take(asset.asset_id)
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


class _Counts:
    """A Fenwick tree of 0/1 counts: the k-th remaining candidate in O(log n)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.tree = [0] * (n + 1)
        for i in range(1, n + 1):  # all ones, built in O(n)
            self.tree[i] += 1
            j = i + (i & -i)
            if j <= n:
                self.tree[j] += self.tree[i]
        self.total = n

    def remove(self, pos: int) -> None:
        self.total -= 1
        i = pos + 1
        while i <= self.n:
            self.tree[i] -= 1
            i += i & -i

    def kth(self, k: int) -> int:
        """Position of the k-th (0-based) remaining candidate."""
        pos, step = 0, 1 << self.n.bit_length()
        while step:
            nxt = pos + step
            if nxt <= self.n and self.tree[nxt] <= k:
                pos = nxt
                k -= self.tree[nxt]
            step >>= 1
        return pos


class _Candidates:
    """Assets eligible per (class, kinds, satellite rule), in fleet order, minus those taken.

    :meth:`pick` draws exactly what ``rng.choice`` over the filtered list would
    (``choice`` is ``seq[randrange(len(seq))]``), without rebuilding the list.
    """

    def __init__(self, fleet: Fleet) -> None:
        self.rows: dict[str, list[tuple[Asset, bool]]] = {}
        for a in fleet.assets:
            sat = fleet.terminals_of(a.asset_id)[0].satellite
            self.rows.setdefault(a.cls, []).append((a, sat))
        self.index: dict[tuple[str, frozenset[str], bool], tuple[list[Asset], _Counts]] = {}
        self.members: dict[str, list[tuple[_Counts, int]]] = {}

    def per_class(self, cls: str) -> int:
        return len(self.rows.get(cls, ()))

    def _entry(
        self, req: IncidentRequest, mode: str, cls: str, taken: set[str]
    ) -> tuple[list[Asset], _Counts]:
        kinds = MODES[req.kind][mode]
        no_sat = req.kind not in _LONG
        key = (cls, kinds, no_sat)
        entry = self.index.get(key)
        if entry is None:
            assets = [
                a for a, sat in self.rows.get(cls, ()) if a.kind in kinds and not (sat and no_sat)
            ]
            counts = _Counts(len(assets))
            for pos, a in enumerate(assets):
                self.members.setdefault(a.asset_id, []).append((counts, pos))
                if a.asset_id in taken:
                    counts.remove(pos)
            entry = self.index[key] = (assets, counts)
        return entry

    def available(self, req: IncidentRequest, mode: str, cls: str) -> bool:
        return self._entry(req, mode, cls, set())[1].n > 0

    def pick(
        self, req: IncidentRequest, mode: str, cls: str, taken: set[str], rng: random.Random
    ) -> Asset | None:
        assets, counts = self._entry(req, mode, cls, taken)
        if counts.total == 0:
            return None
        return assets[counts.kth(rng.randrange(counts.total))]

    def take(self, asset_id: str) -> None:
        for counts, pos in self.members.get(asset_id, ()):
            counts.remove(pos)


def _slots(cands: _Candidates, req: IncidentRequest, mode: str, rng: random.Random) -> list[str]:
    """The classes to draw an asset from, one entry per asset wanted, in round-robin order."""
    classes = [
        c for c in ("vehicle", "ship", "farm", "equipment") if not req.classes or c in req.classes
    ]
    rng.shuffle(classes)
    wanted: dict[str, int] = {}
    for cls in classes:
        n_class = cands.per_class(cls)
        if not cands.available(req, mode, cls):
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
        drawn = t
        day = local_day_start(t)
        for _ in range(7):
            if not asset.working_days or local_weekday(day + 12 * HOUR) in asset.working_days:
                break
            day += DAY
        t = day + rng.uniform(10.0, 12.5) * HOUR
        if t < start:
            t += DAY
        if t >= start + days * DAY:
            # No working day left in a short run (a weekend demo): the drawn time
            # itself, rather than an incident after the end that never happens.
            t = drawn
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
        return zone_exit_incidents(asset, dev, mode, t0, p, rng), None
    if kind == "relocation":
        return relocation_incidents(asset, dev, t0, p, rng), None
    if kind == "moved_while_parked":
        dist = float(p.get("distance_m", rng.uniform(2_000, 4_000)))
        to = Site("displaced", *polar(asset.base.lat, asset.base.lon, dist, rng.uniform(0, 360)))
        speed = TRAVEL_SPEED[asset.kind]
        arrive = t0 + dist / speed
        params = {
            "distance_m": round(dist),
            "to": point(to),
            "arrive": rfc3339(arrive),
            "speed_kmh": round(speed * 3.6, 1),
            "engine_on": False,
        }
        main = Incident(kind, mode, aid, dev, t0, None, params)
        return [main, *companions(asset, dev, main, asset.base, to, t0, speed, reloc=True)], None
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
        return [spoofing_incident(asset, dev, mode, t0, p, rng)], None
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
    return double_pledge_incidents(fleet, asset, dev, mode, t0, rng)
