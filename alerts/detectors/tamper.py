"""``tamper``: power cut, antenna cut, case opened, running on backup battery.

Evidence comes from the reading itself (``tamper``, ``ext_power`` false, and
the alarms ``main_power_lost``, ``antenna_cut``, ``antenna_short``,
``case_opened``, ``gnss_fault``). A tamper switch, case, antenna or main-power
alarm raises at once (a terminal cut off often sends only that last gasp);
running on backup battery or a GNSS fault alone needs ``confirm`` consecutive
readings. The condition leaves after ``clear`` consecutive clean readings, so
one glitchy frame neither raises nor clears it.

Level: backup battery / main power lost → yellow; antenna, GNSS fault, case
opened or tamper switch → orange; one level up after 6 h, red after 24 h.

Example::

    >>> det = Tamper()
    >>> state, signals = det.step(det.initial(), make_reading(ext_power=False), ctx)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from alerts.detectors.base import (
    BatchStepped,
    DeviceContext,
    Level,
    Signal,
    epoch,
    from_epoch,
    reading_evidence,
)
from telemetry.model import Reading

KIND = "tamper"

_SEVERITY: Final = {
    "backup_battery": Level.YELLOW,
    "main_power_lost": Level.YELLOW,
    "antenna_cut": Level.ORANGE,
    "antenna_short": Level.ORANGE,
    "gnss_fault": Level.ORANGE,
    "case_opened": Level.ORANGE,
    "tamper": Level.ORANGE,
}


@dataclass(frozen=True, slots=True)
class TamperParams:
    confirm: int = 2
    immediate: frozenset[str] = frozenset(
        {"tamper", "case_opened", "antenna_cut", "antenna_short", "main_power_lost"}
    )
    clear: int = 3
    up_after_s: float = 6 * 3600.0
    red_after_s: float = 86400.0
    refresh_s: float = 6 * 3600.0


@dataclass(frozen=True, slots=True)
class TamperState:
    last_ts: float = 0.0
    bad_n: int = 0
    clean_n: int = 0
    since: float | None = None
    active: bool = False
    level: int = 0
    last_emit: float = 0.0
    flags: tuple[str, ...] = ()


def tamper_flags(r: Reading) -> tuple[str, ...]:
    """The tamper evidence one reading carries, sorted."""
    flags = {a for a in r.alarms if a in _SEVERITY}
    if r.tamper:
        flags.add("tamper")
    if r.ext_power is False:
        flags.add("backup_battery")
    return tuple(sorted(flags))


class Tamper(BatchStepped[TamperState]):
    """Streaming detector over each reading's tamper evidence."""

    kind = KIND
    state_type = TamperState

    def __init__(self, params: TamperParams = TamperParams()) -> None:
        self.params = params

    def initial(self) -> TamperState:
        return TamperState()

    def _level(self, flags: tuple[str, ...], duration: float) -> Level:
        base = max((_SEVERITY[f] for f in flags), default=Level.YELLOW)
        if duration >= self.params.red_after_s:
            return Level.RED
        if duration >= self.params.up_after_s:
            return base.up()
        return base

    def step_batch(
        self,
        state: TamperState,
        rs: Sequence[Reading],
        ts: Sequence[float],
        ctx: DeviceContext,
    ) -> tuple[TamperState, list[Signal]]:
        p = self.params
        confirm, clear, refresh_s, immediate = p.confirm, p.clear, p.refresh_s, p.immediate
        last_ts, bad_n, clean_n, since = state.last_ts, state.bad_n, state.clean_n, state.since
        active, level, last_emit, seen = state.active, state.level, state.last_emit, state.flags
        signals: list[Signal] = []
        for r, t in zip(rs, ts, strict=True):
            if t <= last_ts:
                continue  # late frames: hysteresis counts follow event order only
            last_ts = t
            flags = tamper_flags(r) if r.alarms or r.tamper or r.ext_power is False else ()
            if flags:
                if since is None:
                    since = t
                if not set(flags) <= set(seen):
                    seen = tuple(sorted(set(seen) | set(flags)))
                bad_n += 1
                clean_n = 0
                if not active and bad_n < confirm and not any(f in immediate for f in flags):
                    continue
                lvl = max(Level(max(level, 1)), self._level(seen, t - since))
                if not active or lvl > level or t - last_emit >= refresh_s:
                    active, level, last_emit = True, int(lvl), t
                    signals.append(self._signal(r, ctx, True, lvl, since, seen))
                continue
            if not active:
                bad_n, since, seen = 0, None, ()
                continue
            clean_n += 1
            bad_n = 0
            if clean_n < clear:
                continue
            assert since is not None
            signals.append(self._signal(r, ctx, False, Level(level), since, seen))
            bad_n = clean_n = level = 0
            since, active, last_emit, seen = None, False, 0.0, ()
        out = TamperState(last_ts, bad_n, clean_n, since, active, level, last_emit, seen)
        return out, signals

    def _signal(
        self,
        r: Reading,
        ctx: DeviceContext,
        active: bool,
        level: Level,
        since: float,
        flags: tuple[str, ...],
    ) -> Signal:
        p = self.params
        return Signal(
            kind=KIND,
            device_id=r.device_id,
            asset_id=ctx.asset_id,
            ts=r.ts,
            active=active,
            level=level,
            magnitude=epoch(r.ts) - since,
            since=from_epoch(since),
            evidence={
                "reading": reading_evidence(r),
                "flags": list(flags),
                "thresholds": {"confirm_readings": p.confirm, "clear_readings": p.clear,
                               "up_after_s": p.up_after_s, "red_after_s": p.red_after_s},
            },
        )  # fmt: skip
