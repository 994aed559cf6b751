"""Per-terminal registry context for the detectors, loaded in bulk and cached briefly."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from alerts.detectors.base import DeviceContext, ZoneSpec
from telemetry.db import Conn
from telemetry.sqlfiles import query


def _context(row: Sequence[Any]) -> DeviceContext:
    device_id, asset_id, cls, stationary, season, interval, satellite, zones = row
    specs = tuple(
        ZoneSpec(str(z["id"]), z["geometry"], float(z.get("buffer_m") or 0.0))
        for z in zones or ()
        if isinstance(z, dict) and isinstance(z.get("geometry"), dict)
    )
    months = tuple(int(m) for m in season or () if isinstance(m, int | float))
    return DeviceContext(
        device_id=str(device_id),
        asset_id=str(asset_id) if asset_id is not None else None,
        asset_class=str(cls or "vehicle"),
        stationary=bool(stationary),
        zones=specs,
        expected_interval_s=int(interval or 60),
        satellite=bool(satellite),
        season_months=() if len(months) == 12 else months,
    )


def load_contexts(conn: Conn, device_ids: Sequence[str]) -> dict[str, DeviceContext]:
    """Contexts of the given terminals; unknown terminals get a default context."""
    out = {d: DeviceContext(d) for d in device_ids}
    for row in conn.execute(query("alerts", "device_contexts"), {"device_ids": list(device_ids)}):
        ctx = _context(row)
        out[ctx.device_id] = ctx
    return out


class ContextCache:
    """Registry contexts kept for ``ttl_s`` seconds of wall time (registry edits are rare)."""

    def __init__(self, ttl_s: float = 60.0) -> None:
        self.ttl_s = ttl_s
        self._cache: dict[str, tuple[float, DeviceContext]] = {}

    def get(self, conn: Conn, device_ids: Sequence[str]) -> dict[str, DeviceContext]:
        now = time.monotonic()
        out: dict[str, DeviceContext] = {}
        missing: list[str] = []
        for d in device_ids:
            hit = self._cache.get(d)
            if hit is not None and now - hit[0] < self.ttl_s:
                out[d] = hit[1]
            else:
                missing.append(d)
        if missing:
            for d, ctx in load_contexts(conn, missing).items():
                self._cache[d] = (now, ctx)
                out[d] = ctx
        return out

    def invalidate(self) -> None:
        self._cache.clear()
