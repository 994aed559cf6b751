"""Everything a provenance report reads, fetched once: registry facts and hourly rollups.

The operating figures come from the hourly rollups (``readings_hourly``), a few
thousand rows for 180 days, never the ~260,000 raw readings; only tamper and
alarm readings (through a partial index) and the evidence digest (computed in
the database) touch raw rows. ``source="raw"`` recomputes the same hourly rows
from raw readings: the benchmark's baseline and a cross-check.

The rollups are read with collateral's own named query rather than
``telemetry.queries.hourly_rollups``: that function turns counters into deltas
clamped at zero, and the report needs each hour's first and last counter value
to see an engine-hour counter running backwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import numpy as np
import psycopg
from numpy.typing import NDArray

from collateral.errors import NotFound, ProvenanceError
from collateral.identity import identity_keys, tag_ranges
from collateral.model import Asset
from collateral.registry import read_state
from collateral.zones import Zone, ZoneIndex
from telemetry.db import Conn
from telemetry.sqlfiles import query

HOUR: Final = timedelta(hours=1)
#: Columns of the hourly rows, in query order (after ``bucket``).
COLUMNS: Final = (
    "readings",
    "moving_minutes",
    "operating_minutes",
    "distance_m",
    "max_speed_kmh",
    "first_ts",
    "last_ts",
    "first_lat",
    "first_lon",
    "last_lat",
    "last_lon",
    "engine_hours_first",
    "engine_hours_last",
    "avg_activity",
    "avg_power_kw",
    "energy_kwh_first",
    "energy_kwh_last",
    "fuel_used_l_first",
    "fuel_used_l_last",
    "idle_hours_first",
    "idle_hours_last",
    "avg_load_pct",
    "avg_body_temp_c",
    "min_battery_v",
)
_TIME_COLS: Final = frozenset({"first_ts", "last_ts"})


@dataclass(frozen=True)
class Window:
    """One terminal's share of the report period: bound to the asset over [start, end)."""

    device_id: str
    start: datetime
    end: datetime
    expected_interval_s: int
    satellite: bool


@dataclass(frozen=True)
class Hourly:
    """Hourly rollups of all windows, concatenated in time order, as numpy columns.

    Times are epoch seconds (float); missing values are NaN.
    """

    bucket: NDArray[np.float64]
    device: NDArray[np.int64]  # index into ProvenanceInputs.windows
    cols: dict[str, NDArray[np.float64]]

    def __len__(self) -> int:
        return len(self.bucket)

    def __getitem__(self, name: str) -> NDArray[np.float64]:
        return self.cols[name]


@dataclass(frozen=True)
class ProvenanceInputs:
    asset: Asset
    borrower: dict[str, Any]
    start: datetime
    end: datetime
    windows: tuple[Window, ...]
    bindings: tuple[dict[str, Any], ...]
    pledges: tuple[dict[str, Any], ...]
    other_pledges: tuple[dict[str, Any], ...]
    hourly: Hourly
    flagged: tuple[tuple[datetime, bool, tuple[str, ...]], ...]
    alerts: tuple[dict[str, Any], ...] | None  # None: no alerts table
    zones: ZoneIndex


def _floor_hour(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _ceil_hour(t: datetime) -> datetime:
    f = _floor_hour(t)
    return f if f == t else f + HOUR


def _hist(row: tuple[Any, ...], names: tuple[str, ...]) -> dict[str, Any]:
    return dict(zip(names, row, strict=True))


def _same_identity(asset: Asset, other: Asset) -> list[str]:
    mine = set(identity_keys(asset.identity))
    shared = sorted(mine & set(identity_keys(other.identity)))
    for a in tag_ranges(asset.identity):
        for b in tag_ranges(other.identity):
            if a.overlaps(b):
                shared.append(f"ear_tags:{a.label()}&{b.label()}")
    return shared


def load_inputs(
    conn: Conn, asset_id: str, *, start: datetime, end: datetime, source: str = "rollup"
) -> ProvenanceInputs:
    """Fetch what the report needs for ``asset_id`` over [start, end) (hour-aligned)."""
    if source not in ("rollup", "raw"):
        raise ProvenanceError(f"source must be rollup or raw, got {source!r}")
    start, end = _floor_hour(start), _ceil_hour(end)
    try:
        st = read_state(conn)
        asset = st.assets.get(asset_id)
        if asset is None:
            raise NotFound(f"asset {asset_id!r} is not registered")
        b = st.borrowers[asset.borrower_id]
        borrower = {
            "id": b.id,
            "name": b.name,
            "industry": b.industry,
            "region": b.region,
            "officer": b.officer,
        }
        bnames = (
            "id",
            "device_id",
            "asset_id",
            "valid_from",
            "valid_to",
            "by_user",
            "reason",
            "closed_by",
            "close_reason",
        )
        bindings = tuple(
            _hist(r, bnames)
            for r in conn.execute(query("collateral", "bindings_of_asset"), {"asset_id": asset_id})
        )
        pnames = (
            "id",
            "asset_id",
            "loan_id",
            "valid_from",
            "valid_to",
            "by_user",
            "reason",
            "closed_by",
            "close_reason",
            "borrower_id",
            "loan_status",
            "amount",
            "currency",
            "product",
        )
        twins = {
            o.id: keys
            for o in st.assets.values()
            if o.id != asset_id and (keys := _same_identity(asset, o))
        }
        prow = [
            _hist(r, pnames)
            for r in conn.execute(
                query("collateral", "pledges_of_asset"), {"asset_ids": [asset_id, *twins]}
            )
        ]
        pledges = tuple(p for p in prow if p["asset_id"] == asset_id)
        others = tuple(
            {**p, "shared_identity": twins[p["asset_id"]]}
            for p in prow
            if p["asset_id"] != asset_id
        )
        windows = []
        for bd in bindings:
            s = max(start, _floor_hour(bd["valid_from"]))
            e = min(end, _ceil_hour(bd["valid_to"]) if bd["valid_to"] else end)
            term = st.terminals.get(bd["device_id"])
            if e > s and term is not None:
                windows.append(
                    Window(bd["device_id"], s, e, term.expected_interval_s, term.satellite)
                )
        hourly = _hourly(conn, windows, source)
        flagged: list[tuple[datetime, bool, tuple[str, ...]]] = []
        for w in windows:
            for ts, tamper, alarms, _, _ in conn.execute(
                query("collateral", "prov_flagged"),
                {"device_id": w.device_id, "start": w.start, "end": w.end},
            ):
                flagged.append((ts, bool(tamper), tuple(alarms or ())))
        alerts = _alerts(conn, asset_id, start, end)
        zones = ZoneIndex.from_zones(
            Zone(z.id, z.asset_id, z.kind, z.name, z.buffer_m, z.geometry)
            for z in st.zones.values()
            if z.asset_id == asset_id
        )
    except psycopg.Error as exc:
        raise ProvenanceError(f"cannot read the data for the report: {exc}") from exc
    return ProvenanceInputs(
        asset,
        borrower,
        start,
        end,
        tuple(windows),
        bindings,
        pledges,
        others,
        hourly,
        tuple(sorted(flagged)),
        alerts,
        zones,
    )


def _alerts(
    conn: Conn, asset_id: str, start: datetime, end: datetime
) -> tuple[dict[str, Any], ...] | None:
    row = conn.execute(query("collateral", "prov_has_alerts")).fetchone()
    if not row or not row[0]:
        return None
    names = (
        "id",
        "kind",
        "level",
        "peak_level",
        "status",
        "outcome",
        "first_seen",
        "last_seen",
        "count",
        "device_id",
    )
    try:
        with conn.transaction():
            rows = conn.execute(
                query("collateral", "prov_alerts"),
                {"asset_id": asset_id, "start": start, "end": end},
            ).fetchall()
    except psycopg.errors.UndefinedColumn:
        return None  # an alerts table of another shape: report without it
    return tuple(_hist(r, names) for r in rows)


def _hourly(conn: Conn, windows: list[Window], source: str) -> Hourly:
    name = "prov_hourly" if source == "rollup" else "prov_hourly_raw"
    rows: list[tuple[Any, ...]] = []
    devs: list[int] = []
    for i, w in enumerate(windows):
        with conn.cursor() as cur:
            cur.execute(
                query("collateral", name),
                {"device_id": w.device_id, "start": w.start, "end": w.end},
            )
            got = cur.fetchall()
        rows.extend(got)
        devs.extend([i] * len(got))
    order = sorted(range(len(rows)), key=lambda k: (rows[k][0], devs[k]))
    cols: dict[str, NDArray[np.float64]] = {}
    for j, cname in enumerate(COLUMNS, start=1):
        if cname in _TIME_COLS:
            vals = [rows[k][j].timestamp() if rows[k][j] is not None else np.nan for k in order]
        else:
            vals = [rows[k][j] if rows[k][j] is not None else np.nan for k in order]
        cols[cname] = np.asarray(vals, dtype=np.float64)
    return Hourly(
        np.asarray([rows[k][0].timestamp() for k in order], dtype=np.float64),
        np.asarray([devs[k] for k in order], dtype=np.int64),
        cols,
    )
