"""``assetwatch bench provenance``: one asset, 180 days of one-minute data, report time.

Builds a scratch database (dropped afterwards), writes ~260,000 readings of one
terminal through the telemetry writer, folds the hourly rollups, then times the
report built from rollups against the same report built from raw readings (the
hourly rows aggregated on the fly) in the same run. Both read the evidence
seals; the first report, which seals every past hour, and ``provenance
verify``, which recomputes every hour from the readings, are timed too.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import click
import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from assetwatch.cli import settings_of
from collateral import registry
from collateral.document import parse_document
from collateral.provenance.report import ReportTiming, build_report, verify_report
from collateral.provenance.synthetic import History, Incidents, generate
from telemetry.db import database_url
from telemetry.rollups import materialize_rollups
from telemetry.schema import migrate
from telemetry.store import ReadingWriter


@contextmanager
def scratch_database(url: str, *, keep: bool = False) -> Iterator[str]:
    """A new, migrated database on the same server; dropped on exit unless ``keep``."""
    name = f"aw_bench_prov_{uuid.uuid4().hex[:10]}"
    admin = make_conninfo(url, dbname=conninfo_to_dict(url).get("dbname") or "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    target = make_conninfo(url, dbname=name)
    try:
        with psycopg.connect(target) as conn:
            migrate(conn)
        yield target
    finally:
        if not keep:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )


def _registry(interval_s: int) -> dict[str, object]:
    lat, lon = 31.2, 121.4
    return {
        "format": "assetwatch-registry/1",
        "borrowers": [{"id": "B1", "name": "Bench Logistics"}],
        "loans": [{"id": "L1", "borrower_id": "B1", "amount": 1000000, "currency": "CNY"}],
        "assets": [
            {
                "id": "A1",
                "borrower_id": "B1",
                "class": "vehicle",
                "name": "Bench truck",
                "identity": {"vin": "LFWADRJF011002346"},
                "declared": {
                    "base": {"lat": lat, "lon": lon},
                    "hours_per_day": 9,
                    "working_days": [0, 1, 2, 3, 4, 5],
                },
            }
        ],
        "terminals": [{"device_id": "T1", "protocol": "json", "expected_interval_s": interval_s}],
        "bindings": [{"device_id": "T1", "asset_id": "A1", "from": "2020-01-01T00:00:00Z"}],
        "pledges": [{"asset_id": "A1", "loan_id": "L1", "from": "2020-01-01T00:00:00Z"}],
        "zones": [
            {
                "id": "Z1",
                "asset_id": "A1",
                "kind": "pledged",
                "buffer_m": 500,
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            [lon - 0.2, lat - 0.2],
                            [lon + 0.2, lat - 0.2],
                            [lon + 0.2, lat + 0.2],
                            [lon - 0.2, lat + 0.2],
                            [lon - 0.2, lat - 0.2],
                        ]
                    ],
                },
            }
        ],
    }


def _median(runs: list[ReportTiming]) -> tuple[float, float, float, float]:
    tot = [r.load_s + r.compute_s + r.digest_s for r in runs]
    return (
        statistics.median(tot),
        statistics.median(r.load_s for r in runs),
        statistics.median(r.compute_s for r in runs),
        statistics.median(r.digest_s for r in runs),
    )


@click.command("provenance")
@click.option("--days", type=int, default=180, show_default=True)
@click.option(
    "--interval",
    "interval_s",
    type=int,
    default=60,
    show_default=True,
    help="Seconds between readings.",
)
@click.option("--runs", type=int, default=5, show_default=True)
@click.option("--keep", is_flag=True, help="Keep the scratch database.")
@click.pass_context
def provenance(ctx: click.Context, days: int, interval_s: int, runs: int, keep: bool) -> None:
    """Time a provenance report over DAYS of data from rollups vs from raw readings."""
    settings = settings_of(ctx)
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    start = end - timedelta(days=days)
    with scratch_database(database_url(settings), keep=keep) as url, psycopg.connect(url) as conn:
        t0 = time.perf_counter()
        registry.import_document(conn, parse_document(_registry(interval_s)))
        hist = History(
            "T1",
            start,
            days,
            interval_s=interval_s,
            incidents=Incidents(gap_days=(40, 42), tamper_day=90),
        )
        readings = generate(hist)
        gen_s = time.perf_counter() - t0
        writer = ReadingWriter(settings)
        t0 = time.perf_counter()
        for i in range(0, len(readings), 20_000):
            writer.write(conn, readings[i : i + 20_000])
            conn.commit()
        materialize_rollups(conn, now=end + timedelta(hours=2))
        conn.commit()
        write_s = time.perf_counter() - t0
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
        conn.autocommit = False
        version = conn.execute("SHOW server_version").fetchone()
        fast: list[ReportTiming] = []
        slow: list[ReportTiming] = []
        cold: list[ReportTiming] = []
        issued = datetime.now(UTC).replace(microsecond=0)
        # The first report seals every past hour (once per asset and hour).
        build_report(conn, "A1", days=days, end=end, generated_at=issued, timing=cold)
        conn.commit()
        for _ in range(runs):
            rep = build_report(conn, "A1", days=days, end=end, generated_at=issued, timing=fast)
            conn.rollback()
        for _ in range(max(1, runs // 2)):
            raw = build_report(
                conn, "A1", days=days, end=end, generated_at=issued, timing=slow, source="raw"
            )
            conn.rollback()
        t0 = time.perf_counter()
        verified = verify_report(conn, rep, recompute=False).ok
        verify_s = time.perf_counter() - t0
    r_tot, r_load, r_comp, r_dig = _median(fast)
    b_tot, b_load, b_comp, b_dig = _median(slow)
    same = {k: v for k, v in rep["body"].items() if k != "source"} == {
        k: v for k, v in raw["body"].items() if k != "source"
    }
    click.echo(
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"PostgreSQL {version[0] if version else '?'} (plain layout unless TimescaleDB)"
    )
    click.echo(
        f"data: 1 asset, {days} days every {interval_s} s = {len(readings):,} readings "
        f"(generated {gen_s:.1f} s, written + rolled up {write_s:.1f} s); "
        f"verdict {rep['body']['verdict']['verdict']}"
    )
    click.echo(
        f"report from rollups: {r_tot * 1000:.0f} ms median of {len(fast)} "
        f"(load {r_load * 1000:.0f} ms, compute {r_comp * 1000:.0f} ms, "
        f"evidence digest {r_dig * 1000:.0f} ms)"
    )
    click.echo(
        f"baseline from raw readings: {b_tot * 1000:.0f} ms median of {len(slow)} "
        f"(load {b_load * 1000:.0f} ms, compute {b_comp * 1000:.0f} ms, "
        f"evidence digest {b_dig * 1000:.0f} ms)"
    )
    c = cold[0]
    click.echo(
        f"first report (seals every past hour once): "
        f"{(c.load_s + c.compute_s + c.digest_s) * 1000:.0f} ms "
        f"(evidence {c.digest_s * 1000:.0f} ms); provenance verify (recomputes every hour "
        f"from the readings): {verify_s * 1000:.0f} ms, ok={verified}"
    )
    click.echo(
        f"ratio: {b_tot / r_tot:.1f}x faster than the baseline; same report: {same}; "
        f"target < 1 s: {'met' if r_tot < 1.0 else 'NOT met'}"
    )
