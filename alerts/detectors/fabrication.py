"""``fabrication``: flat-lined or replayed telemetry made up to look like operations.

Each reading is reduced to a fingerprint of its values (position to 1e-6°,
speed, heading, fuel, battery, metrics — not its time, sequence or counters).

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
import hashlib
from dataclasses import dataclass

from alerts.detectors.base import (
    DeviceContext,
    Level,
    Signal,
    epoch,
    evolve,
    from_epoch,
    reading_evidence,
)
from telemetry.model import Reading

KIND = "fabrication"
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


def fingerprint(r: Reading) -> int | None:
    """A 48-bit digest of the reading's values, or None when it carries too little."""
    parts: list[str] = []
    if r.lat is not None and r.lon is not None:
        parts.append(f"{r.lat:.6f},{r.lon:.6f}")
    for name in ("speed_kmh", "heading_deg", "fuel_pct", "battery_v", "alt_m"):
        v = getattr(r, name)
        if v is not None:
            parts.append(f"{name}={v:.4f}")
    for k in sorted(r.metrics):
        parts.append(f"{k}={r.metrics[k]:.4f}")
    if len(parts) < 2:
        return None
    digest = hashlib.blake2b("|".join(parts).encode(), digest_size=6).digest()
    return int.from_bytes(digest, "big")


def _operating(r: Reading) -> bool:
    if r.engine_on or r.ignition or (r.speed_kmh or 0.0) > 0.5:
        return True
    return any(r.metrics.get(m, 0.0) > 0.0 for m in _OPERATING_METRICS)


def _bits(fp: int, nbits: int) -> tuple[int, int, int]:
    return (fp % nbits, (fp >> 16) % nbits, (fp >> 32) % nbits)


def _has(bloom: bytes, fp: int) -> bool:
    if not bloom:
        return False
    nbits = len(bloom) * 8
    return all(bloom[b >> 3] & (1 << (b & 7)) for b in _bits(fp, nbits))


def _add(bloom: bytes, fp: int, size: int) -> bytes:
    arr = bytearray(bloom or bytes(size))
    for b in _bits(fp, len(arr) * 8):
        arr[b >> 3] |= 1 << (b & 7)
    return bytes(arr)


def _dec(s: str) -> bytes:
    return base64.b64decode(s) if s else b""


def _enc(b: bytes) -> str:
    return base64.b64encode(b).decode()


class Fabrication:
    """Streaming detector of flat-lined and replayed telemetry."""

    kind = KIND
    state_type = FabricationState

    def __init__(self, params: FabricationParams = FabricationParams()) -> None:
        self.params = params

    def initial(self) -> FabricationState:
        return FabricationState()

    def step(
        self, state: FabricationState, r: Reading, ctx: DeviceContext
    ) -> tuple[FabricationState, list[Signal]]:
        p = self.params
        t = epoch(r.ts)
        if t <= state.last_ts:
            return state, []  # a late backfill is not a replay; ignore it entirely
        fp = fingerprint(r)
        if fp is None:
            return evolve(state, last_ts=t), []
        s = evolve(state, last_ts=t)
        what = ""
        # flat-line
        if fp == s.last_fp and _operating(r):
            s = evolve(s, flat_n=s.flat_n + 1)
            if s.flat_n >= p.flat_n and t - s.flat_since >= p.flat_s:
                what = "flat_line"
        else:
            s = evolve(s, flat_n=1, flat_since=t)
        # replay: only a hash-chosen 1/sample_mod of readings is remembered, so
        # the filters reach back days; a replayed stream hits the same sample.
        # Only readings that claim operation count: a replay is made up to look
        # like work, while a parked or laid-up terminal's bounded jitter revisits
        # the same few positions by itself.
        sampled = (fp >> 44) % p.sample_mod == 0 and _operating(r)
        if sampled and fp != s.last_fp:
            a, b = _dec(s.bloom_a), _dec(s.bloom_b)  # only sampled readings touch the filters
            if _has(a, fp) or _has(b, fp):
                fps = (*s.replay_fps, fp % 65536)[-p.replay_n :]
                s = evolve(s, replay_run=s.replay_run + 1, replay_fps=fps)
            else:
                s = evolve(s, replay_run=0, replay_fps=())
            count = s.bloom_count + 1
            a = _add(a, fp, p.bloom_bytes)
            if count >= p.bloom_rotate:
                a, b, count = b"", a, 0
            s = evolve(s, bloom_a=_enc(a), bloom_b=_enc(b), bloom_count=count)
        if s.replay_run >= p.replay_n and len(set(s.replay_fps)) >= p.replay_distinct:
            what = what or "replay"
        s = evolve(s, last_fp=fp)
        if what:
            since = s.since if s.since is not None else t
            base = Level.ORANGE if what == "replay" or s.what == "replay" else Level.YELLOW
            level = base.up() if t - since >= p.up_after_s else base
            level = max(level, Level(max(s.level, 1)))
            kept = "replay" if "replay" in (what, s.what) else what
            s = evolve(s, clean_n=0, since=since, what=kept)
            if not s.active or level > s.level or t - s.last_emit >= p.refresh_s:
                s = evolve(s, active=True, level=int(level), last_emit=t)
                return s, [self._signal(r, ctx, True, level, since, kept)]
            return s, []
        if not s.active:
            return s, []
        s = evolve(s, clean_n=s.clean_n + 1)
        if s.clean_n < p.clear:
            return s, []
        assert s.since is not None
        sig = self._signal(r, ctx, False, Level(s.level), s.since, s.what)
        return evolve(s, active=False, since=None, level=0, clean_n=0, what=""), [sig]

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
