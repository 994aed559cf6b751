"""The scheduled pass of the windowed detectors (``assetwatch run`` role ``detect``).

One pass loads every device's last ``days`` of hourly rollups aggregated into
trailing 24-hour windows by a single SQL query (the database does the heavy
lifting over ``readings_hourly``), evaluates ``offline``, ``idle``, ``decline``
and ``relocation`` per device against its own baseline, checks the registry for
double pledges, applies the signals and clears alerts whose condition is over.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from alerts.context import load_contexts
from alerts.detectors.base import DeviceContext, Signal
from alerts.detectors.daily import DailySeries, empty_series
from alerts.detectors.double_pledge import ActiveBinding, AssetIdentity, find_conflicts
from alerts.detectors.registry import WindowedDetector, windowed_detectors
from alerts.engine import AlertChange, AlertPolicy, apply_signals, clear_due
from alerts.streaming import policy_from
from assetwatch.settings import Settings
from telemetry.db import Conn
from telemetry.sqlfiles import query

DAYS = 35


@dataclass(frozen=True, slots=True)
class PassReport:
    """What one windowed pass did."""

    now: datetime
    devices: int
    signals: int
    changes: tuple[AlertChange, ...]
    load_s: float
    detect_s: float
    write_s: float


def series_from_rows(
    rows: Iterable[Sequence[Any]], now: datetime, days: int = DAYS
) -> dict[str, DailySeries]:
    """Daily series per device from ``daily_rollups`` rows."""
    out: dict[str, DailySeries] = {}
    for device_id, day, n, op, mv, dist, rlat, rlon, last_ts, *more in rows:
        d = int(day)
        if not 0 <= d < days:
            continue
        s = out.get(device_id)
        if s is None:
            s = empty_series(str(device_id), now, days)
            out[device_id] = s
        s.readings[d] = float(n or 0)
        s.operating_min[d] = float(op or 0)
        s.moving_min[d] = float(mv or 0)
        s.distance_m[d] = float(dist or 0)
        if rlat is not None and rlon is not None:
            s.rest_lat[d] = float(rlat)
            s.rest_lon[d] = float(rlon)
        if more and more[0] is not None and s.energy_kwh is not None:
            s.energy_kwh[d] = float(more[0])
        if last_ts is not None and (s.last_ts is None or last_ts > s.last_ts):
            out[device_id] = _with_last(s, last_ts)
    return out


def _with_last(s: DailySeries, last_ts: datetime) -> DailySeries:
    return DailySeries(
        s.device_id, s.now, s.readings, s.operating_min, s.moving_min, s.distance_m,
        s.rest_lat, s.rest_lon, last_ts, s.energy_kwh,
    )  # fmt: skip


def evaluate_devices(
    series: dict[str, DailySeries],
    contexts: dict[str, DeviceContext],
    open_keys: set[tuple[str, str]],
    detectors: Sequence[WindowedDetector],
) -> list[Signal]:
    """Windowed signals for every device (pure: no database)."""
    merged: dict[tuple[str, str], Signal] = {}
    for device_id, s in series.items():
        ctx = contexts.get(device_id) or DeviceContext(device_id)
        asset = ctx.asset_id or device_id
        for det in detectors:
            sig = det.evaluate(s, ctx, (asset, det.kind) in open_keys)
            if sig is None:
                continue
            # One verdict per (asset, kind): any terminal of the asset in the
            # condition keeps it on (a second terminal still reporting must not
            # end the first one's offline alert).
            key = (asset, det.kind)
            prev = merged.get(key)
            if prev is None or (sig.active, sig.level) > (prev.active, prev.level):
                merged[key] = sig
    return list(merged.values())


def registry_signals(conn: Conn, now: datetime, open_keys: set[tuple[str, str]]) -> list[Signal]:
    """``double_pledge`` signals from the registry, plus ends of conflicts now gone."""
    assets = [
        AssetIdentity(str(a), i if isinstance(i, dict) else {})
        for a, i in conn.execute(query("alerts", "registry_identities"), {"now": now})
    ]
    bindings = [
        ActiveBinding(str(d), str(a), f)
        for d, a, f in conn.execute(query("alerts", "registry_active_bindings"), {"now": now})
    ]
    signals = find_conflicts(assets, pledged={a.asset_id for a in assets}, bindings=bindings,
                             now=now)  # fmt: skip
    live = {s.asset_id for s in signals}
    for asset, kind in open_keys:
        if kind == "double_pledge" and asset not in live:
            signals.append(Signal(kind="double_pledge", device_id="", asset_id=asset, ts=now,
                                  active=False))  # fmt: skip
    return signals


def run_pass(
    conn: Conn,
    settings: Settings,
    now: datetime,
    *,
    policy: AlertPolicy | None = None,
    detectors: Sequence[WindowedDetector] | None = None,
) -> PassReport:
    """One windowed pass at ``now``, in the caller's transaction (the caller commits)."""
    pol = policy or policy_from(settings)
    dets = tuple(detectors) if detectors is not None else windowed_detectors()
    t0 = time.perf_counter()
    rows = conn.execute(query("alerts", "daily_rollups"), {"now": now, "days": DAYS}).fetchall()
    series = series_from_rows(rows, now)
    for (d,) in conn.execute(query("alerts", "all_device_ids")):
        if d not in series:
            series[d] = empty_series(str(d), now, DAYS)
    contexts = load_contexts(conn, sorted(series))
    open_keys = {(str(a), str(k)) for a, k in conn.execute(query("alerts", "open_kinds"))}
    t1 = time.perf_counter()
    signals = evaluate_devices(series, contexts, open_keys, dets)
    signals.extend(registry_signals(conn, now, open_keys))
    t2 = time.perf_counter()
    changes = apply_signals(conn, signals, pol)
    changes.extend(clear_due(conn, now, pol))
    t3 = time.perf_counter()
    return PassReport(now, len(series), len(signals), tuple(changes), t1 - t0, t2 - t1, t3 - t2)
