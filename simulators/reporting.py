"""What a terminal reports, as opposed to what it measured: the reporting incidents.

A :class:`Reporter` holds the little state these need (the frozen fix of a
frozen position or flat line, the recording a replay plays back) and turns
each measured :class:`~simulators.fixes.Fix` into the reported one: a tamper
notice before going dark, backup-battery and case-open flags, a teleported,
frozen or rolled-back fix, a replayed or flat-lined one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from simulators.fixes import Fix
from simulators.geo import offset
from simulators.truth import Incident


class Reporter:
    """The reporting incidents of one device, applied fix by fix in rising time."""

    def __init__(self, incidents: Sequence[Incident], skew: float) -> None:
        self.reporting = list(incidents)
        self.skew = skew
        self.frozen: Fix | None = None
        self.replay_next: float | None = None
        self.record: list[Fix] = []

    def offline_notice(self, fix: Fix, cause: str) -> Fix:
        if cause == "power_cut":
            return replace(
                fix, ext_power=False, tamper=True, alarms=("main_power_lost",), battery_v=3.9
            )
        if cause == "antenna_cut":
            return replace(
                fix,
                lat=None,
                lon=None,
                speed_kmh=None,
                heading_deg=None,
                hdop=None,
                sats=0,
                tamper=True,
                alarms=("antenna_cut",),
            )
        return replace(fix, tamper=True, alarms=("case_opened",))

    def report(self, fix: Fix, t: float) -> Fix | None:
        out: Fix | None = fix
        for inc in self.reporting:
            if inc.kind == "fabrication" and inc.mode == "replay":
                shift = float(inc.params["shift_s"])
                end = inc.end or inc.start
                if inc.start - shift <= t < end - shift:
                    self.record.append(fix)
                if inc.active(t):
                    out = self._replayed(inc, fix, t, shift)
                continue
            if not inc.active(t) and not (inc.mode == "counter_rollback" and t >= inc.start):
                continue
            assert out is not None
            if inc.kind == "tamper":
                if inc.mode == "backup_battery":
                    left = max(0.0, ((inc.end or t) - t) / ((inc.end or t) - inc.start + 1))
                    out = replace(
                        out,
                        ext_power=False,
                        tamper=True,
                        alarms=("main_power_lost",),
                        battery_v=round(3.6 + 0.5 * left, 2),
                    )
                else:
                    out = replace(out, tamper=True, alarms=("case_opened",))
            elif inc.mode == "teleport" and out.lat is not None and out.lon is not None:
                lat, lon = offset(
                    out.lat,
                    out.lon,
                    float(inc.params["offset_north_m"]),
                    float(inc.params["offset_east_m"]),
                )
                out = replace(out, lat=round(lat, 6), lon=round(lon, 6))
            elif inc.mode == "frozen":
                if self.frozen is None:
                    self.frozen = out
                fz = self.frozen
                out = replace(
                    out,
                    lat=fz.lat,
                    lon=fz.lon,
                    speed_kmh=0.0,
                    heading_deg=fz.heading_deg,
                    hdop=fz.hdop,
                    sats=fz.sats,
                )
            elif inc.mode == "counter_rollback":
                back_h = float(inc.params["engine_hours_back"])
                back_km = float(inc.params["odometer_km_back"])
                if out.engine_hours is not None:
                    out = replace(out, engine_hours=round(max(0.0, out.engine_hours - back_h), 2))
                if out.odometer_km is not None:
                    out = replace(out, odometer_km=round(max(0.0, out.odometer_km - back_km), 1))
            elif inc.mode == "flatline":
                if self.frozen is None:
                    self.frozen = out
                out = replace(self.frozen, t=out.t, seq=out.seq)
        return out

    def _replayed(self, inc: Incident, fix: Fix, t: float, shift: float) -> Fix:
        """The recorded fix from ``shift`` ago, re-stamped, counters carried forward."""
        src_t = t + self.skew - shift
        best = None
        for k, old in enumerate(self.record):
            if old.t <= src_t + 1e-6:
                best = old
                if k + 1 < len(self.record):
                    self.replay_next = self.record[k + 1].t - self.skew + shift
            else:
                break
        if best is None:
            return fix
        if self.frozen is None:
            self.frozen = best  # anchor for counter offsets
        anchor = self.frozen
        eh = None
        if (
            best.engine_hours is not None
            and anchor.engine_hours is not None
            and fix.engine_hours is not None
        ):
            eh = round(best.engine_hours - anchor.engine_hours + fix.engine_hours, 2)
        od = None
        if (
            best.odometer_km is not None
            and anchor.odometer_km is not None
            and fix.odometer_km is not None
        ):
            od = round(best.odometer_km - anchor.odometer_km + fix.odometer_km, 1)
        return replace(best, t=fix.t, seq=fix.seq, engine_hours=eh, odometer_km=od)
