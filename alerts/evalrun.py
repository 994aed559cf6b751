"""The evaluation pipeline end to end, in one process, over simulated time.

simulate (``simulators.Simulation``) → decode/validate/identify/dedupe with the
ingest pipeline → ``telemetry.store.ReadingWriter`` plus the alerts commit
hook in one transaction per batch → a windowed pass every ``pass_every`` of
simulated time → :func:`alerts.evaluation.score` against the simulation's truth.

The server clock of every component is the simulated send time, so the run is
what a live deployment would have seen, only faster.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from alerts.engine import AlertPolicy
from alerts.evaluation import EvalReport, TruthItem, detections_from_db, parse_truth, score
from alerts.streaming import StreamingHook, policy_from
from alerts.windowed import run_pass
from assetwatch.settings import Settings
from collateral.document import load_json
from collateral.registry import import_document
from ingest.pipeline import Message, Pipeline
from ingest.registry import RegistryCache
from simulators import SimConfig, Simulation
from telemetry.db import Conn
from telemetry.schema import migrate
from telemetry.store import ReadingWriter


@dataclass(frozen=True, slots=True)
class RunStats:
    messages: int
    readings: int
    passes: int
    ingest_s: float
    detect_s: float
    pass_s: float


@contextmanager
def scratch_database(url: str, *, keep: bool = False) -> Iterator[str]:
    """A fresh, migrated database on the server of ``url`` (dropped afterwards)."""
    name = f"aw_eval_{uuid.uuid4().hex[:10]}"
    admin = make_conninfo(url, dbname=conninfo_to_dict(url).get("dbname") or "postgres")
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    target = make_conninfo(url, dbname=name)
    try:
        with psycopg.connect(target) as c:
            migrate(c)
            c.commit()
        yield target
    finally:
        if not keep:
            with psycopg.connect(admin, autocommit=True) as c:
                c.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )


def simulate_into(
    conn: Conn,
    url: str,
    settings: Settings,
    sim: Simulation,
    *,
    hook: Callable[[Conn, Any], None] | None,
    pass_every: timedelta = timedelta(hours=1),
    batch_max: int = 5000,
    windowed: bool = True,
) -> RunStats:
    """Import the simulation's registry, ingest its messages and run windowed passes."""
    doc = load_json(json.dumps(sim.registry()))
    import_document(conn, doc, actor="evaluate", allow_conflicts=True)
    conn.commit()
    clock = [datetime.fromtimestamp(sim.start, UTC)]
    cache = RegistryCache(lambda: psycopg.connect(url), period_s=1e12)
    cache.refresh()
    pipeline = Pipeline(settings, cache, clock=lambda: clock[0])
    writer = ReadingWriter(settings, clock=lambda: clock[0])
    pending: list[Any] = []
    stats = {"messages": 0, "readings": 0, "passes": 0}
    timers = {"ingest": 0.0, "detect": 0.0, "pass": 0.0}

    def flush() -> None:
        if not pending:
            return
        good, _bad = writer.split(pending, now=clock[0])
        t0 = time.perf_counter()
        with conn.transaction():
            result = writer.write(conn, good)
            t1 = time.perf_counter()
            if hook is not None:
                hook(conn, result.inserted)
            t2 = time.perf_counter()
        timers["ingest"] += t1 - t0 + (time.perf_counter() - t2)
        timers["detect"] += t2 - t1
        stats["readings"] += len(result.inserted)
        pending.clear()

    def window_pass(at: datetime) -> None:
        if not windowed:
            return
        t0 = time.perf_counter()
        with conn.transaction():
            run_pass(conn, settings, at)
        timers["pass"] += time.perf_counter() - t0
        stats["passes"] += 1

    try:
        _drive(sim, pipeline, pending, flush, window_pass, clock, pass_every.total_seconds(),
               stats, batch_max)  # fmt: skip
    finally:
        cache.close()
    return RunStats(stats["messages"], stats["readings"], stats["passes"], timers["ingest"],
                    timers["detect"], timers["pass"])  # fmt: skip


def _drive(
    sim: Simulation,
    pipeline: Pipeline,
    pending: list[Any],
    flush: Callable[[], None],
    window_pass: Callable[[datetime], None],
    clock: list[datetime],
    step: float,
    stats: dict[str, int],
    batch_max: int,
) -> None:
    next_pass = sim.start + step
    for msg in sim.messages():
        while msg.send_time >= next_pass:
            flush()
            clock[0] = datetime.fromtimestamp(next_pass, UTC)
            window_pass(clock[0])
            next_pass += step
        clock[0] = datetime.fromtimestamp(msg.send_time, UTC)
        work = pipeline.process(Message(msg.topic, msg.payload, clock[0]))
        pending.extend(work.readings)
        stats["messages"] += 1
        if len(pending) >= batch_max:
            flush()
    flush()
    while next_pass <= sim.end:
        clock[0] = datetime.fromtimestamp(next_pass, UTC)
        window_pass(clock[0])
        next_pass += step


def evaluate_simulation(
    url: str,
    settings: Settings,
    config: SimConfig,
    *,
    policy: AlertPolicy | None = None,
    pass_every: timedelta = timedelta(hours=1),
    keep: bool = False,
) -> tuple[EvalReport, RunStats, list[TruthItem]]:
    """Simulate ``config`` into a scratch database, detect, and score against its truth."""
    sim = Simulation(config)
    truth = parse_truth([json.dumps(t) for t in sim.truth()], source="simulation")
    hook = StreamingHook(policy=policy or policy_from(settings))
    with scratch_database(url, keep=keep) as db, psycopg.connect(db) as conn:
        stats = simulate_into(conn, db, settings, sim, hook=hook, pass_every=pass_every)
        detections = detections_from_db(conn)
        conn.commit()
    horizon = datetime.fromtimestamp(sim.end, UTC)
    asset_days = len(sim.fleet.assets) * config.days
    report = score(truth, detections, asset_days=asset_days, horizon=horizon)
    extra = {
        "preset": config.scenario if isinstance(config.scenario, str) else config.scenario.name,
        "fleet": config.fleet if isinstance(config.fleet, str) else dict(config.fleet),
        "days": config.days, "seed": config.seed, "assets": len(sim.fleet.assets),
        "messages": stats.messages, "readings": stats.readings, "passes": stats.passes,
        "ingest_s": round(stats.ingest_s, 2), "detect_s": round(stats.detect_s, 2),
        "pass_s": round(stats.pass_s, 2),
    }  # fmt: skip
    return EvalReport(report.asset_days, report.kinds, extra), stats, truth
