"""``assetwatch bench detect``: one windowed pass over a synthetic portfolio.

Seeds a scratch database with ``--devices`` terminals (default 10,000), each
with ``--days`` (default 30) of hourly rollups, and times :func:`run_pass`
against a naive baseline measured in the same run: a per-device loop that
queries each device's rollups and registry context separately and evaluates the
same detectors (timed on ``--baseline-sample`` devices and scaled up).
"""

from __future__ import annotations

import platform
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import click
import numpy as np
import psycopg

from alerts.context import load_contexts
from alerts.detectors.daily import DailySeries, empty_series
from alerts.detectors.registry import windowed_detectors
from alerts.evalrun import scratch_database
from alerts.windowed import DAYS, evaluate_devices, run_pass
from assetwatch.cli import settings_of
from telemetry.db import Conn, database_url
from telemetry.errors import DatabaseUnavailable
from telemetry.sqlfiles import query


def _naive_device(conn: Conn, device_id: str, now: datetime) -> DailySeries:
    rows = conn.execute(
        query("alerts", "device_hourly"), {"device_id": device_id, "now": now, "days": DAYS}
    ).fetchall()
    s = empty_series(device_id, now, DAYS)
    rest: dict[int, list[tuple[float, float]]] = {}
    last = None
    for bucket, n, op, mv, dist, lat, lon, last_ts in rows:
        d = int((now - bucket).total_seconds() // 86400)
        s.readings[d] += n or 0
        s.operating_min[d] += op or 0
        s.moving_min[d] += mv or 0
        s.distance_m[d] += dist or 0
        if (mv or 0) == 0 and lat is not None:
            rest.setdefault(d, []).append((lat, lon))
        last = last_ts if last is None or (last_ts and last_ts > last) else last
    for d, pts in rest.items():
        s.rest_lat[d] = float(np.median([p[0] for p in pts]))
        s.rest_lon[d] = float(np.median([p[1] for p in pts]))
    return DailySeries(s.device_id, now, s.readings, s.operating_min, s.moving_min, s.distance_m,
                       s.rest_lat, s.rest_lon, last)  # fmt: skip


def _pg_version(conn: Conn) -> str:
    row = conn.execute(query("alerts", "server_version", "bench.sql")).fetchone()
    return str(row[0]) if row else "?"


@click.command("detect")
@click.option("--devices", type=int, default=10_000, show_default=True)
@click.option("--days", type=int, default=30, show_default=True)
@click.option("--baseline-sample", type=int, default=500, show_default=True)
@click.pass_context
def detect(ctx: click.Context, devices: int, days: int, baseline_sample: int) -> None:
    """Time one windowed pass over DEVICES terminals with DAYS of hourly rollups."""
    settings = settings_of(ctx)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    try:
        server = database_url(settings)
    except DatabaseUnavailable as exc:
        raise click.ClickException(f"{exc}; set it to the server to benchmark on") from exc
    with scratch_database(server) as url, psycopg.connect(url) as conn:
        t0 = time.perf_counter()
        for name in ("seed_borrower", "seed_assets", "seed_terminals", "seed_bindings"):
            conn.execute(query("alerts", name, "bench.sql"), {"devices": devices, "now": now})
        conn.execute(
            query("alerts", "seed_rollups", "bench.sql"),
            {"devices": devices, "now": now, "days": days},
        )
        conn.commit()
        conn.execute(query("alerts", "analyze", "bench.sql"))
        conn.commit()
        seed_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        report = run_pass(conn, settings, now)
        conn.commit()
        pass_s = time.perf_counter() - t0
        raised = Counter(c.kind for c in report.changes if c.event == "raised")
        # Same-run baseline: the naive per-device loop, on a sample.
        ids = [f"D{i:05d}" for i in range(0, devices, max(1, devices // baseline_sample))]
        dets = windowed_detectors()
        t0 = time.perf_counter()
        for d in ids:
            s = _naive_device(conn, d, now)
            ctxs = load_contexts(conn, [d])
            evaluate_devices({d: s}, ctxs, set(), dets)
        naive_s = (time.perf_counter() - t0) * devices / len(ids)
        conn.rollback()
    cpu = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout.strip()
    click.echo(f"machine: {cpu} cores, Python {platform.python_version()}, "
               f"PostgreSQL {_pg_version_of(settings)}")  # fmt: skip
    click.echo(f"portfolio: {devices} devices x {days} days of hourly rollups "
               f"({devices * days * 24:,} rows, seeded in {seed_s:.1f} s)")  # fmt: skip
    click.echo(f"windowed pass: {pass_s:.2f} s (load {report.load_s:.2f} s, detect "
               f"{report.detect_s:.2f} s, write {report.write_s:.2f} s), {report.signals} signals, "
               f"{raised.total()} alerts raised ("
               + ", ".join(f"{k} {n}" for k, n in sorted(raised.items())) + ")")  # fmt: skip
    click.echo(f"baseline (naive per-device queries, {len(ids)} sampled, scaled to {devices}): "
               f"{naive_s:.1f} s")  # fmt: skip
    click.echo(f"ratio: {naive_s / pass_s:.1f}x faster than the baseline; "
               f"target < 60 s: {'met' if pass_s < 60 else 'NOT met'}")  # fmt: skip


def _pg_version_of(settings: object) -> str:
    from assetwatch.settings import Settings

    assert isinstance(settings, Settings)
    with psycopg.connect(database_url(settings)) as conn:
        return _pg_version(conn)


def _step_costs(batches: list[list[tuple[str, list[Any], Any]]]) -> dict[str, float]:
    """Microseconds per reading of each streaming detector's steps alone (no database),
    over the batches the hook saw, each detector's states carried from batch to batch."""
    from alerts.detectors.registry import streaming_detectors
    from alerts.streaming import step_device

    n = sum(len(rs) for batch in batches for _, rs, _ in batch) or 1
    out: dict[str, float] = {}
    for det in streaming_detectors():
        states: dict[str, dict[str, Any]] = {}
        start = time.perf_counter()
        for batch in batches:
            for device_id, rs, dctx in batch:
                states[device_id], _ = step_device((det,), states.get(device_id, {}), rs, dctx)
        out[det.kind] = (time.perf_counter() - start) / n * 1e6
    return out


@click.command("detect-streaming")
@click.option("--fleet", default="vehicle=150,ship=20,farm=30,equipment=50", show_default=True)
@click.option("--hours", type=float, default=12.0, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.pass_context
def detect_streaming(ctx: click.Context, fleet: str, hours: float, seed: int) -> None:
    """Ingest write rate with and without the streaming detectors in the transaction.

    The same simulated messages go through the ingest pipeline and the store's
    writer in 5,000-reading transactions, once without a commit hook (baseline)
    and once with :class:`alerts.streaming.StreamingHook`, each into its own
    scratch database.
    """
    from alerts.evalrun import simulate_into
    from alerts.streaming import StreamingHook, policy_from
    from simulators import SimConfig, Simulation

    batches: list[list[tuple[str, list[Any], Any]]] = []

    class Recording(StreamingHook):
        """The hook, keeping what it stepped (for the per-detector timing after the run)."""

        def __call__(self, conn: Conn, readings: Any) -> None:
            super().__call__(conn, readings)
            by_dev: dict[str, list[Any]] = {}
            for r in readings:
                by_dev.setdefault(r.device_id, []).append(r)
            ctxs = self.contexts.get(conn, sorted(by_dev))
            batches.append([(d, by_dev[d], ctxs[d]) for d in sorted(by_dev)])

    settings = settings_of(ctx)
    rates: dict[str, float] = {}
    sizes = (0, 0, 0)
    per_reading_us = 0.0
    readings = 0
    for label, with_hook in (("without detectors", False), ("with detectors", True)):
        sim = Simulation(SimConfig(fleet=fleet, days=hours / 24, seed=seed, scenario="eval-small"))
        hook = Recording(policy=policy_from(settings)) if with_hook else None
        with scratch_database(database_url(settings)) as url, psycopg.connect(url) as conn:
            stats = simulate_into(conn, url, settings, sim, hook=hook, windowed=False)
            if with_hook:
                row = conn.execute(query("alerts", "state_sizes", "bench.sql")).fetchone()
                sizes = (int(row[0]), int(row[1]), int(row[2])) if row else (0, 0, 0)
        readings = stats.readings
        rates[label] = stats.readings / (stats.ingest_s + stats.detect_s)
        if with_hook:
            per_reading_us = stats.detect_s / max(stats.readings, 1) * 1e6
    cpu = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout.strip()
    click.echo(f"machine: {cpu} cores, Python {platform.python_version()}, "
               f"PostgreSQL {_pg_version_of(settings)}")  # fmt: skip
    click.echo(f"{readings:,} readings of fleet {fleet} over {hours:g} h, 5,000 per transaction")
    for label, rate in rates.items():
        click.echo(f"store write {label}: {rate:,.0f} readings/s")
    ratio = rates["with detectors"] / rates["without detectors"]
    click.echo(f"streaming detectors: {per_reading_us:.0f} us per reading inside the transaction; "
               f"ratio with/without: {ratio:.2f}")  # fmt: skip
    click.echo(f"checkpoint per device (all streaming detectors): at most {sizes[1]:,} bytes, "
               f"{sizes[2]:,} on average, {sizes[0]} devices")  # fmt: skip
    costs = _step_costs(batches)
    click.echo("detector steps alone, us per reading: "
               + ", ".join(f"{k} {v:.1f}" for k, v in costs.items())
               + f" (sum {sum(costs.values()):.1f})")  # fmt: skip
