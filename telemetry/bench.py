"""``assetwatch bench store``: rows/s through the bulk writer, against ``executemany``.

Runs in a scratch database it creates (and drops) on the configured server, so
it never touches real data. Same rows, same unique index, same commit per
batch for both. The baseline sends one statement per row through psycopg's
``executemany`` (pipelined) that does the same work for that row as the writer:
``INSERT ... ON CONFLICT DO NOTHING`` on the dedup key, the ``latest_state``
upsert by event time, and on plain PostgreSQL the rollup's dirty-hour mark.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import click
import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo
from psycopg.types.json import Jsonb

from assetwatch.cli import settings_of
from assetwatch.settings import Settings
from telemetry.batch import dedup_key
from telemetry.model import Reading
from telemetry.rollups import materialize_rollups
from telemetry.schema import migrate
from telemetry.sqlfiles import query
from telemetry.store import ReadingWriter, shard_of

_LOCAL = "postgresql://postgres@127.0.0.1:5432/postgres"


def make_readings(n: int, devices: int, *, step_s: int = 30) -> list[Reading]:
    """``n`` readings of ``devices`` trucks reporting every ``step_s`` seconds, in order."""
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        d, k = i % devices, i // devices
        ts = t0 + timedelta(seconds=step_s * k)
        dev = f"T{d:06d}"
        out.append(
            Reading(
                device_id=dev,
                ts=ts,
                seq=k,
                lat=31.0 + d * 1e-3 + k * 1e-5,
                lon=121.0 + k * 1e-5,
                speed_kmh=float(k % 60),
                heading_deg=90.0,
                hdop=0.9,
                sats=11,
                ignition=True,
                engine_on=True,
                engine_hours=1000.0 + k * step_s / 3600,
                odometer_km=50_000.0 + k * 0.3,
                fuel_pct=60.0,
                battery_v=12.6,
                ext_power=True,
                received_at=ts + timedelta(seconds=2),
                topic=f"assetwatch/{dev}/telemetry",
            )
        )
    return out


@contextmanager
def scratch_database(admin_url: str, *, timescale: bool) -> Iterator[str]:
    """A migrated database of the benchmark's own, dropped afterwards."""
    name = f"aw_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_conninfo(admin_url, dbname=name)
    try:
        with psycopg.connect(url) as conn:
            migrate(conn, use_timescaledb=timescale)
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _batches(rows: list[Reading], size: int) -> Iterator[list[Reading]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


def run_writer(url: str, settings: Settings, rows: list[Reading], batch: int) -> float:
    """Seconds to store ``rows`` with :meth:`ReadingWriter.store_batches` (a commit per batch)."""
    writer = ReadingWriter(settings)
    with psycopg.connect(url) as conn:
        start = time.perf_counter()
        for _ in writer.store_batches(conn, _batches(rows, batch)):
            pass
        return time.perf_counter() - start


def run_parallel(
    url: str, settings: Settings, rows: list[Reading], batch: int, writers: int
) -> float:
    """Seconds to store ``rows`` with ``writers`` writers on their own connections.

    As the ingest does it (``ASSETWATCH_INGEST_WRITERS``): each batch of
    ``batch`` rows is split by device with :func:`shard_of` and every writer
    commits its part in its own transaction, in its own thread.
    """
    memo: dict[str, int] = {}

    def shard(r: Reading) -> int:
        k = memo.get(r.device_id)
        if k is None:
            k = memo[r.device_id] = shard_of(r.device_id, writers)
        return k

    conns = [psycopg.connect(url) for _ in range(writers)]
    errors: list[BaseException] = []
    try:
        start = time.perf_counter()
        parts: list[list[list[Reading]]] = [[] for _ in range(writers)]
        for b in _batches(rows, batch):
            split: list[list[Reading]] = [[] for _ in range(writers)]
            for r in b:
                split[shard(r)].append(r)
            for k in range(writers):
                if split[k]:
                    parts[k].append(split[k])

        def work(k: int) -> None:
            writer, conn = ReadingWriter(settings), conns[k]
            try:
                for p in parts[k]:
                    writer.write(conn, p)
                    conn.commit()
                    writer.refresh_if_due(conn)  # as the ingest does
            except BaseException as exc:  # reported below, not lost in the thread
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(k,)) for k in range(writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start
    finally:
        for c in conns:
            c.close()
    if errors:
        raise errors[0]
    return elapsed


def run_executemany(url: str, rows: list[Reading], batch: int, *, timescale: bool) -> float:
    """Seconds to store ``rows`` one statement per row (psycopg ``executemany``).

    Each statement does the writer's work for its row: insert unless stored,
    ``latest_state`` by event time, and on plain PostgreSQL the rollup mark.
    """
    name = "bench_insert_one_timescale" if timescale else "bench_insert_one_plain"
    stmt = query("telemetry", name)
    with psycopg.connect(url) as conn:
        start = time.perf_counter()
        for b in _batches(rows, batch):
            with conn.cursor() as cur:
                cur.executemany(stmt, [_params(r) for r in b])
            conn.commit()
        return time.perf_counter() - start


def run_ceiling(url: str, batch: int) -> tuple[int, float]:
    """(rows, seconds) of the server's COPY ceiling: ``readings`` as stored, encoded by
    the server itself, COPYed into a table with the same indexes, one commit per
    ``batch`` rows. What the writer cannot beat on one connection; no client work."""
    with psycopg.connect(url) as conn:
        conn.execute(query("telemetry", "bench_ceiling_table"))
        conn.commit()
        with conn.cursor() as cur, cur.copy(query("telemetry", "bench_ceiling_out")) as out:
            data = b"".join(bytes(chunk) for chunk in out)
        n = conn.execute("SELECT count(*) FROM readings").fetchone()
        rows = int(n[0]) if n else 0
        # The binary COPY stream: 19-byte header, then per row a 2-byte field count
        # and (4-byte length, value) per field, then a 2-byte trailer.
        starts = _row_offsets(data, rows)
        start = time.perf_counter()
        for i in range(0, rows, batch):
            with conn.cursor() as cur, cur.copy(query("telemetry", "bench_ceiling_in")) as cp:
                end = starts[i + batch] if i + batch < rows else len(data) - 2
                cp.write(data[:19] + data[starts[i] : end] + b"\xff\xff")
            conn.commit()
        return rows, time.perf_counter() - start


def _row_offsets(data: bytes, rows: int) -> list[int]:
    offsets, pos = [], 19
    for _ in range(rows):
        offsets.append(pos)
        fields = int.from_bytes(data[pos : pos + 2], "big")
        pos += 2
        for _ in range(fields):
            size = int.from_bytes(data[pos : pos + 4], "big", signed=True)
            pos += 4 + max(size, 0)
    return offsets


def _params(r: Reading) -> dict[str, Any]:
    return {
        "device_id": r.device_id, "ts": r.ts, "received_at": r.received_at, "seq": r.seq,
        "lat": r.lat, "lon": r.lon, "alt_m": r.alt_m, "speed_kmh": r.speed_kmh,
        "heading_deg": r.heading_deg, "hdop": r.hdop, "sats": r.sats, "ignition": r.ignition,
        "engine_on": r.engine_on, "engine_hours": r.engine_hours, "odometer_km": r.odometer_km,
        "fuel_pct": r.fuel_pct, "battery_v": r.battery_v, "ext_power": r.ext_power,
        "tamper": r.tamper, "alarms": list(r.alarms) if r.alarms else None,
        "metrics": Jsonb(dict(r.metrics)) if r.metrics else None, "source": r.source,
        "topic": r.topic, "message_id": r.message_id, "late": r.late, "dedup_key": dedup_key(r),
    }  # fmt: skip


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        # Other work on the machine during the run skews every figure: say how much.
        "load_average_1m": os.getloadavg()[0],
    }


@click.command("store")
# A million rows: at the default batch of 20,000 the first batch is prepared
# with nothing to overlap (about 60 ms, a start-up cost, not a stream's), which
# was a tenth of a 200,000-row run; here it is about 1.5 %.
@click.option("--rows", default=1_000_000, show_default=True, help="Readings to write.")
@click.option("--devices", default=1000, show_default=True, help="Distinct terminals.")
@click.option("--baseline-rows", default=20_000, show_default=True, help="Rows for executemany.")
@click.option("--batch", default=None, type=int, help="Batch size (default: ingest_batch_size).")
@click.option("--admin-url", default=None, help="Server to create the scratch database on.")
@click.option(
    "--writers",
    default=2,
    show_default=True,
    type=click.IntRange(1, 16),
    help="Writers on their own connections for the parallel figure (1 leaves it out).",
)
@click.option("--timescaledb/--no-timescaledb", default=False, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.pass_context
def store(
    ctx: click.Context,
    rows: int,
    devices: int,
    baseline_rows: int,
    batch: int | None,
    admin_url: str | None,
    writers: int,
    timescaledb: bool,
    as_json: bool,
) -> None:
    """Bulk writer rows/s (dedup on) vs executemany, in one run on one server."""
    settings = settings_of(ctx)
    admin = admin_url or settings.database_url or _LOCAL
    size = batch or settings.ingest_batch_size
    data = make_readings(rows, devices)
    base = make_readings(min(baseline_rows, rows), devices)
    # The benchmark holds all its input in memory, which an ingest process does
    # not: keep the cyclic GC from rescanning it on every batch (both contenders).
    gc.collect()
    gc.freeze()
    with scratch_database(admin, timescale=timescaledb) as url:
        with psycopg.connect(url) as conn:
            row = conn.execute(query("telemetry", "server_version")).fetchone()
            server = str(row[0]) if row else "?"
        t_writer = run_writer(url, settings, data, size)
        # Redelivery: the last 10% again, plus as many new rows (mixed batches).
        tail = data[-rows // 10 :]
        more = make_readings(rows + rows // 10, devices)[rows:]
        mixed = [r for pair in zip(tail, more, strict=False) for r in pair]
        t_mixed = run_writer(url, settings, mixed, size)
        with psycopg.connect(url, autocommit=timescaledb) as conn:  # a CALL needs it
            start = time.perf_counter()
            materialize_rollups(conn, now=datetime(2026, 4, 1, tzinfo=UTC))
            if not conn.autocommit:
                conn.commit()
            t_refresh = time.perf_counter() - start
        n_ceiling, t_ceiling = run_ceiling(url, size)
    t_par = 0.0
    if writers > 1:  # the same rows into a fresh database, by parallel writers
        with scratch_database(admin, timescale=timescaledb) as url:
            t_par = run_parallel(url, settings, data, size, writers)
    with scratch_database(admin, timescale=timescaledb) as url:
        t_many = run_executemany(url, base, size, timescale=timescaledb)
    figures: dict[str, Any] = {
        "machine": {**machine(), "postgresql": server},
        "layout": "timescaledb" if timescaledb else "plain",
        "rows": rows,
        "devices": devices,
        "batch": size,
        "writer_rows_per_s": rows / t_writer,
        "writer_with_50pct_duplicates_rows_per_s": len(mixed) / t_mixed,
        "executemany_rows": len(base),
        "executemany_rows_per_s": len(base) / t_many,
        "ratio": (rows / t_writer) / (len(base) / t_many),
        "parallel_writers": writers,
        "parallel_rows_per_s": rows / t_par if t_par else None,
        "parallel_ratio": (rows / t_par) / (len(base) / t_many) if t_par else None,
        "rollup_refresh_rows_per_s": (rows + len(more)) / t_refresh,
        "server_copy_ceiling_rows_per_s": n_ceiling / t_ceiling,
        "writer_vs_ceiling": (rows / t_writer) / (n_ceiling / t_ceiling),
    }
    if as_json:
        click.echo(json.dumps(figures))
        return
    m = figures["machine"]
    click.echo(
        f"machine: {m['cpus']} CPUs, Python {m['python']}, {m['platform']},"
        f" load average {m['load_average_1m']:.1f} at the end"
    )
    click.echo(f"server: {m['postgresql']} ({figures['layout']} layout)")
    click.echo(f"{rows} readings, {devices} devices, batches of {size}")
    click.echo(f"bulk writer (COPY, dedup on):   {figures['writer_rows_per_s']:>10,.0f} rows/s")
    click.echo(
        "  batches with 50% redeliveries: "
        f"{figures['writer_with_50pct_duplicates_rows_per_s']:>10,.0f} rows/s"
    )
    click.echo(
        f"executemany ({len(base)} rows):     {figures['executemany_rows_per_s']:>10,.0f} rows/s"
    )
    click.echo(f"ratio writer / executemany:     {figures['ratio']:>10.1f}x")
    if t_par:
        click.echo(
            f"{writers} writers, own connections:  {figures['parallel_rows_per_s']:>10,.0f} rows/s"
            f" ({figures['parallel_ratio']:.1f}x executemany on one connection)"
        )
    click.echo(
        "server COPY ceiling (no client):"
        f" {figures['server_copy_ceiling_rows_per_s']:>10,.0f} rows/s"
        f" (writer at {figures['writer_vs_ceiling']:.2f}x of it)"
    )
    click.echo(
        f"rollup refresh (all hours):     {figures['rollup_refresh_rows_per_s']:>10,.0f} rows/s"
    )
