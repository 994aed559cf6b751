"""Read side of the store: what detectors and the API ask of it.

Every function gives the same answer on TimescaleDB and on plain PostgreSQL:
they read ``latest_state``, ``readings`` and the ``readings_hourly`` relation,
which is a continuous aggregate on one and a table plus a live view on the
other, defined with the same aggregate list.

Hourly rollups add what a per-bucket aggregate cannot see: the segment from the
previous bucket's last position to this bucket's first one, and counter deltas
measured from the previous bucket's last value (``engine_hours``,
``energy_kwh``, ``fuel_used_l``, ``idle_hours``). Without that, each hour would
lose the distance and counter increments that straddle its boundary. The
previous bucket counts only within :data:`CARRY_WINDOW`; after a longer silence
the device was dark and the work is not attributable to an hour.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, Final

import psycopg

from telemetry.db import Conn
from telemetry.errors import DatabaseUnavailable, TelemetryError
from telemetry.geo import haversine_m, simplify_indices
from telemetry.model import Reading
from telemetry.sqlfiles import query

#: How far back the previous bucket may lie to carry a position or counter.
CARRY_WINDOW: Final = timedelta(hours=24)

_HOUR: Final = timedelta(hours=1)

#: Counters whose per-hour increase the rollups report: (output name, column stem).
COUNTERS: Final = (
    ("engine_hours_delta", "engine_hours"),
    ("energy_kwh", "energy_kwh"),
    ("fuel_used_l", "fuel_used_l"),
    ("idle_hours", "idle_hours"),
)


#: Column of each counter's *_first in ``hourly_rows`` (its *_last follows it).
_COUNTER_COL: Final = MappingProxyType(
    {"engine_hours": 13, "energy_kwh": 17, "fuel_used_l": 19, "idle_hours": 21}
)


@dataclass(frozen=True, slots=True)
class LatestState:
    """A device's newest reading by event time, and when anything last arrived from it."""

    reading: Reading
    last_received_at: datetime | None


@dataclass(frozen=True, slots=True)
class TrackPoint:
    ts: datetime
    lat: float
    lon: float
    speed_kmh: float | None
    heading_deg: float | None


@dataclass(frozen=True, slots=True)
class Track:
    """A device's positions over a time range, optionally simplified."""

    device_id: str
    points: tuple[TrackPoint, ...]
    simplified_m: float | None = None

    def to_geojson(self) -> dict[str, Any]:
        """A GeoJSON Feature: a LineString (a Point for one fix) with the times alongside."""
        coords = [[p.lon, p.lat] for p in self.points]
        geometry: dict[str, Any] = (
            {"type": "Point", "coordinates": coords[0]}
            if len(coords) == 1
            else {"type": "LineString", "coordinates": coords}
        )
        return {
            "type": "Feature",
            "geometry": geometry,
            "properties": {
                "device_id": self.device_id,
                "times": [p.ts.isoformat() for p in self.points],
                "simplified_m": self.simplified_m,
            },
        }


@dataclass(frozen=True, slots=True)
class HourlyRollup:
    """One device-hour. Minutes and distance as defined in docs/telemetry.md."""

    device_id: str
    bucket: datetime
    readings: int
    moving_minutes: float
    operating_minutes: float
    distance_m: float
    max_speed_kmh: float | None
    engine_hours_delta: float | None
    first_ts: datetime
    first_lat: float | None
    first_lon: float | None
    last_ts: datetime
    last_lat: float | None
    last_lon: float | None
    avg_activity: float | None
    avg_power_kw: float | None
    energy_kwh: float | None
    fuel_used_l: float | None
    idle_hours: float | None
    avg_load_pct: float | None
    avg_body_temp_c: float | None
    avg_silo_level_pct: float | None
    min_battery_v: float | None


@dataclass(frozen=True, slots=True)
class DailySummary:
    """One device-day (UTC), summed from the hourly rollups."""

    device_id: str
    day: datetime
    readings: int
    active_hours: int
    moving_minutes: float
    operating_minutes: float
    distance_m: float
    max_speed_kmh: float | None
    engine_hours: float | None
    energy_kwh: float | None
    fuel_used_l: float | None
    idle_hours: float | None
    first_ts: datetime
    last_ts: datetime


def _wrap(exc: psycopg.Error) -> TelemetryError:
    if isinstance(exc, psycopg.OperationalError):
        return DatabaseUnavailable(f"query failed: {exc}")
    return TelemetryError(f"query failed: {exc}")


def latest_states(conn: Conn, device_ids: Iterable[str] | None = None) -> dict[str, LatestState]:
    """Latest state of the given devices (all when None), keyed by device id."""
    try:
        if device_ids is None:
            rows = conn.execute(query("telemetry", "latest_states_all")).fetchall()
        else:
            rows = conn.execute(
                query("telemetry", "latest_states_some"), {"devices": list(device_ids)}
            ).fetchall()
    except psycopg.Error as exc:
        raise _wrap(exc) from exc
    return {str(r[0]): LatestState(_reading(r), r[25]) for r in rows}


def _reading(r: Sequence[Any]) -> Reading:
    metrics = r[20]
    return Reading(
        device_id=r[0],
        ts=r[1],
        received_at=r[2],
        seq=r[3],
        lat=r[4],
        lon=r[5],
        alt_m=r[6],
        speed_kmh=r[7],
        heading_deg=r[8],
        hdop=r[9],
        sats=r[10],
        ignition=r[11],
        engine_on=r[12],
        engine_hours=r[13],
        odometer_km=r[14],
        fuel_pct=r[15],
        battery_v=r[16],
        ext_power=r[17],
        tamper=r[18],
        alarms=tuple(r[19] or ()),
        metrics=MappingProxyType({str(k): float(v) for k, v in metrics.items()})
        if metrics
        else MappingProxyType({}),
        source=r[21],
        topic=r[22],
        message_id=r[23],
        late=r[24],
    )


def track(
    conn: Conn,
    device_id: str,
    start: datetime,
    end: datetime,
    simplify_m: float | None = None,
) -> Track:
    """The device's positions in [start, end) in event-time order.

    With ``simplify_m``, Douglas-Peucker (shapely) in metres on a local
    equirectangular projection drops points that deviate less than that from
    the simplified line; the first and last points are always kept.
    """
    try:
        rows = conn.execute(
            query("telemetry", "track_points"), {"device": device_id, "start": start, "end": end}
        ).fetchall()
    except psycopg.Error as exc:
        raise _wrap(exc) from exc
    points = tuple(TrackPoint(r[0], r[1], r[2], r[3], r[4]) for r in rows)
    if simplify_m is None or len(points) < 3:
        return Track(device_id, points, simplify_m)
    if simplify_m < 0 or not math.isfinite(simplify_m):
        raise ValueError(f"simplify_m must be a finite number >= 0, not {simplify_m!r}")
    keep = simplify_indices([(p.lat, p.lon) for p in points], simplify_m)
    return Track(device_id, tuple(points[i] for i in keep), simplify_m)


def _floor_hour(t: datetime) -> datetime:
    t = t.astimezone(UTC)
    return t.replace(minute=0, second=0, microsecond=0)


def hourly_rollups(
    conn: Conn, device_ids: Iterable[str], start: datetime, end: datetime
) -> list[HourlyRollup]:
    """Rollups of buckets starting in [start, end), by device then hour."""
    devices = list(device_ids)
    if not devices:
        return []
    since = _floor_hour(start) - CARRY_WINDOW
    try:
        rows = conn.execute(
            query("telemetry", "hourly_rows"), {"devices": devices, "since": since, "end": end}
        ).fetchall()
    except psycopg.Error as exc:
        raise _wrap(exc) from exc
    return [h for h in carry_forward(rows) if h.bucket >= start]


def carry_forward(rows: Iterable[Sequence[Any]]) -> list[HourlyRollup]:
    """Turn stored bucket rows (ordered by device, bucket) into :class:`HourlyRollup`.

    Adds the lead-in segment and measures counters from the previous bucket's
    last value, both within :data:`CARRY_WINDOW`.
    """
    out: list[HourlyRollup] = []
    device: str | None = None
    last_pos: tuple[datetime, float, float] | None = None
    last_counter: dict[str, tuple[datetime, float]] = {}
    for r in rows:
        (dev, bucket, n, moving, operating, dist, vmax, first_ts, last_ts,
         flat, flon, llat, llon) = r[:13]  # fmt: skip
        if dev != device:
            device, last_pos, last_counter = dev, None, {}
        distance = float(dist or 0.0)
        if flat is not None and last_pos is not None and bucket - last_pos[0] <= CARRY_WINDOW:
            distance += haversine_m(last_pos[1], last_pos[2], flat, flon)
        if llat is not None:
            last_pos = (bucket, llat, llon)
        deltas: dict[str, float | None] = {}
        for name, stem in COUNTERS:
            col = _COUNTER_COL[stem]
            first, last = r[col], r[col + 1]
            if last is None:
                deltas[name] = None
                continue
            prev = last_counter.get(stem)
            base = prev[1] if prev is not None and bucket - prev[0] <= CARRY_WINDOW else first
            deltas[name] = max(0.0, float(last) - float(base))
            last_counter[stem] = (bucket, float(last))
        out.append(
            HourlyRollup(
                device_id=dev,
                bucket=bucket,
                readings=int(n),
                moving_minutes=float(moving or 0.0),
                operating_minutes=float(operating or 0.0),
                distance_m=distance,
                max_speed_kmh=vmax,
                engine_hours_delta=deltas["engine_hours_delta"],
                first_ts=first_ts,
                first_lat=flat,
                first_lon=flon,
                last_ts=last_ts,
                last_lat=llat,
                last_lon=llon,
                avg_activity=r[15],
                avg_power_kw=r[16],
                energy_kwh=deltas["energy_kwh"],
                fuel_used_l=deltas["fuel_used_l"],
                idle_hours=deltas["idle_hours"],
                avg_load_pct=r[23],
                avg_body_temp_c=r[24],
                avg_silo_level_pct=r[25],
                min_battery_v=r[26],
            )
        )
    return out


def daily_summary(conn: Conn, device_id: str, start: datetime, end: datetime) -> list[DailySummary]:
    """Per UTC day with data in [start, end): operation summed from the hourly rollups."""
    day0 = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    hours = hourly_rollups(conn, [device_id], day0, end)
    return summarize_days(hours)


def summarize_days(hours: Iterable[HourlyRollup]) -> list[DailySummary]:
    """Group hourly rollups (of one device, in order) into UTC days."""
    out: list[DailySummary] = []
    group: list[HourlyRollup] = []

    def flush() -> None:
        if not group:
            return
        g0 = group[0]
        out.append(
            DailySummary(
                device_id=g0.device_id,
                day=g0.bucket.astimezone(UTC).replace(hour=0),
                readings=sum(h.readings for h in group),
                active_hours=len(group),
                moving_minutes=sum(h.moving_minutes for h in group),
                operating_minutes=sum(h.operating_minutes for h in group),
                distance_m=sum(h.distance_m for h in group),
                max_speed_kmh=_max(h.max_speed_kmh for h in group),
                engine_hours=_sum(h.engine_hours_delta for h in group),
                energy_kwh=_sum(h.energy_kwh for h in group),
                fuel_used_l=_sum(h.fuel_used_l for h in group),
                idle_hours=_sum(h.idle_hours for h in group),
                first_ts=min(h.first_ts for h in group),
                last_ts=max(h.last_ts for h in group),
            )
        )
        group.clear()

    for h in hours:
        if group and (
            h.device_id != group[0].device_id
            or h.bucket.astimezone(UTC).date() != group[0].bucket.astimezone(UTC).date()
        ):
            flush()
        group.append(h)
    flush()
    return out


def _sum(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def _max(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None
