"""``fabrication``: flat-lined or replayed telemetry made up to look like operations.

Each reading is reduced to a fingerprint of its values (position, speed,
heading, fuel, battery, altitude, metrics — not its time, sequence or
counters): equal values, equal fingerprint.

- *flat-line*: the same fingerprint ``flat_n`` times in a row over at least
  ``flat_s`` while the readings claim operation (engine on, moving, or a
  positive power/activity/load metric). Real sensors are noisy; identical
  operating readings for hours are not measurements.
- *replay*: ``replay_n`` consecutive remembered operating readings whose fingerprints
  were all seen before (not just repeated from the previous reading), with at
  least ``replay_distinct`` different ones among them. Only readings whose
  fingerprint hash falls in a 1/``sample_mod`` sample are remembered, in a pair
  of rotating Bloom filters (``bloom_bytes`` each), so the state stays under
  2 KB yet reaches back about ``2 × bloom_rotate × sample_mod`` readings (days
  for a tracker); a replayed stream hits the same sample. A false match needs
  ``replay_n`` filter hits in a row (about 1e-9).

The condition ends after ``clear`` consecutive readings showing neither.
Level: flat-line → yellow, replay → orange; one level up after 24 h.

Example::

    >>> det = Fabrication()
    >>> state, signals = det.step(det.initial(), reading, DeviceContext("T1"))
"""

from __future__ import annotations

import base64
import dataclasses
import zlib
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

KIND = "fabrication"
#: Version of :func:`fingerprint` (filters built with another are discarded).
FP_VERSION: Final = 2
_OPERATING_METRICS = ("power_kw", "activity", "load_pct")


@dataclass(frozen=True, slots=True)
class FabricationParams:
    flat_n: int = 12
    flat_s: float = 3600.0
    replay_n: int = 5
    replay_distinct: int = 3
    clear: int = 6
    sample_mod: int = 16
    bloom_bytes: int = 512
    bloom_rotate: int = 400
    up_after_s: float = 86400.0
    refresh_s: float = 6 * 3600.0


@dataclass(frozen=True, slots=True)
class FabricationState:
    last_ts: float = 0.0
    last_fp: int = 0
    flat_n: int = 0
    flat_since: float = 0.0
    replay_run: int = 0
    replay_fps: tuple[int, ...] = ()
    bloom_a: str = ""
    bloom_b: str = ""
    bloom_count: int = 0
    clean_n: int = 0
    active: bool = False
    since: float | None = None
    level: int = 0
    last_emit: float = 0.0
    what: str = ""
    #: The fingerprint the filters hold (1: the formatted-text digest of before).
    fp_version: int = 1


#: Stands for a missing value in a fingerprint (a number no reading carries).
_MISSING: Final = -0x5EED_F00D
#: Metric name -> a stable code (CRC-32): ``hash()`` of a string changes per process.
_KEY_CODE: dict[str, int] = {}


def fingerprint(r: Reading) -> int | None:
    """A 48-bit digest of the reading's values, or None when it carries too little.

    It hashes a tuple of numbers: Python defines the hash of ints and floats
    (the same in every process, unlike a string's), and hashing one tuple costs
    a fifth of formatting the values and running a cryptographic digest, on a
    path every reading takes. Metric names enter as their CRC-32.
    """
    lat, lon = r.lat, r.lon
    vals: list[float | int]
    if lat is not None and lon is not None:
        vals, present = [lat, lon], 1
    else:
        vals, present = [_MISSING, _MISSING], 0
    for v in (r.speed_kmh, r.heading_deg, r.fuel_pct, r.battery_v, r.alt_m):
        if v is None:
            vals.append(_MISSING)
        else:
            vals.append(v)
            present += 1
    m = r.metrics
    if m:
        for k in sorted(m):
            code = _KEY_CODE.get(k)
            if code is None:
                code = _KEY_CODE[k] = zlib.crc32(k.encode())
            vals.append(code)
            vals.append(m[k])
            present += 1
    if present < 2:
        return None
    return hash(tuple(vals)) & 0xFFFF_FFFF_FFFF


def _operating(r: Reading) -> bool:
    if r.engine_on or r.ignition or (r.speed_kmh or 0.0) > 0.5:
        return True
    return any(r.metrics.get(m, 0.0) > 0.0 for m in _OPERATING_METRICS)


def _bits(fp: int, nbits: int) -> tuple[int, int, int]:
    return (fp % nbits, (fp >> 16) % nbits, (fp >> 32) % nbits)


def _has(bloom: bytes | bytearray, fp: int) -> bool:
    if not bloom:
        return False
    nbits = len(bloom) * 8
    return all(bloom[b >> 3] & (1 << (b & 7)) for b in _bits(fp, nbits))


def _add(bloom: bytearray, fp: int) -> None:
    for b in _bits(fp, len(bloom) * 8):
        bloom[b >> 3] |= 1 << (b & 7)


def _dec(s: str) -> bytes:
    return base64.b64decode(s) if s else b""


def _enc(b: bytes) -> str:
    return base64.b64encode(b).decode()


class Fabrication(BatchStepped[FabricationState]):
    """Streaming detector of flat-lined and replayed telemetry."""

    kind = KIND
    state_type = FabricationState

    def __init__(self, params: FabricationParams = FabricationParams()) -> None:
        self.params = params

    def initial(self) -> FabricationState:
        return FabricationState(fp_version=FP_VERSION)

    def step_batch(
        self,
        state: FabricationState,
        rs: Sequence[Reading],
        ts: Sequence[float],
        ctx: DeviceContext,
    ) -> tuple[FabricationState, list[Signal]]:
        p = self.params
        flat_n_min, flat_s, sample_mod = p.flat_n, p.flat_s, p.sample_mod
        replay_n, replay_distinct, clear = p.replay_n, p.replay_distinct, p.clear
        s = state
        if s.fp_version != FP_VERSION:
            # Filters of an older fingerprint never match a new one: start them
            # afresh (an open condition and its hysteresis are kept).
            s = dataclasses.replace(
                s, last_fp=0, flat_n=0, replay_run=0, replay_fps=(), bloom_a="", bloom_b="",
                bloom_count=0,
            )  # fmt: skip
        last_ts, last_fp, flat_n, flat_since = s.last_ts, s.last_fp, s.flat_n, s.flat_since
        replay_run, replay_fps, bloom_count = s.replay_run, s.replay_fps, s.bloom_count
        clean_n, active, since, level = s.clean_n, s.active, s.since, s.level
        last_emit, what_kept = s.last_emit, s.what
        # The filters are decoded once per batch and encoded once at the end.
        bloom_a: bytearray | None = None
        bloom_b: bytes = b""
        signals: list[Signal] = []
        for r, t in zip(rs, ts, strict=True):
            if t <= last_ts:
                continue  # a late backfill is not a replay; ignore it entirely
            last_ts = t
            fp = fingerprint(r)
            if fp is None:
                continue
            what = ""
            operating = _operating(r)
            # flat-line
            if fp == last_fp and operating:
                flat_n += 1
                if flat_n >= flat_n_min and t - flat_since >= flat_s:
                    what = "flat_line"
            else:
                flat_n, flat_since = 1, t
            # replay: only a hash-chosen 1/sample_mod of readings is remembered, so
            # the filters reach back days; a replayed stream hits the same sample.
            # Only readings that claim operation count: a replay is made up to look
            # like work, while a parked or laid-up terminal's bounded jitter revisits
            # the same few positions by itself.
            if operating and fp != last_fp and (fp >> 44) % sample_mod == 0:
                if bloom_a is None:
                    bloom_a = bytearray(_dec(s.bloom_a) or bytes(p.bloom_bytes))
                    bloom_b = _dec(s.bloom_b)
                if _has(bloom_a, fp) or _has(bloom_b, fp):
                    replay_run += 1
                    replay_fps = (*replay_fps, fp % 65536)[-replay_n:]
                else:
                    replay_run, replay_fps = 0, ()
                bloom_count += 1
                _add(bloom_a, fp)
                if bloom_count >= p.bloom_rotate:
                    bloom_b, bloom_a, bloom_count = bytes(bloom_a), bytearray(p.bloom_bytes), 0
            if replay_run >= replay_n and len(set(replay_fps)) >= replay_distinct:
                what = what or "replay"
            last_fp = fp
            if what:
                if since is None:
                    since = t
                replay = what == "replay" or what_kept == "replay"
                base = Level.ORANGE if replay else Level.YELLOW
                lvl = base.up() if t - since >= p.up_after_s else base
                lvl = max(lvl, Level(max(level, 1)))
                what_kept = "replay" if replay else what
                clean_n = 0
                if not active or lvl > level or t - last_emit >= p.refresh_s:
                    active, level, last_emit = True, int(lvl), t
                    signals.append(self._signal(r, ctx, True, lvl, since, what_kept))
                continue
            if not active:
                continue
            clean_n += 1
            if clean_n < clear:
                continue
            assert since is not None
            signals.append(self._signal(r, ctx, False, Level(level), since, what_kept))
            active, since, level, clean_n, what_kept = False, None, 0, 0, ""
        if bloom_a is None:
            enc_a, enc_b = s.bloom_a, s.bloom_b
        else:
            enc_a = _enc(bytes(bloom_a)) if any(bloom_a) else ""
            enc_b = _enc(bloom_b)
        out = FabricationState(
            last_ts, last_fp, flat_n, flat_since, replay_run, replay_fps, enc_a, enc_b,
            bloom_count, clean_n, active, since, level, last_emit, what_kept, FP_VERSION,
        )  # fmt: skip
        return out, signals

    def _signal(
        self, r: Reading, ctx: DeviceContext, active: bool, level: Level, since: float, what: str
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
                "pattern": what,
                "thresholds": {"flat_n": p.flat_n, "flat_s": p.flat_s, "replay_n": p.replay_n,
                               "replay_distinct": p.replay_distinct, "clear": p.clear},
            },
        )  # fmt: skip
