"""``assetwatch bench soak``: a long simulated run, every process's memory and throughput logged.

A fleet (default 1,000 terminals) plays a simulated period (default 30 days)
at a speed-up through the real processes — an own Mosquitto, ``assetwatch run
--role ingest`` (with the streaming detectors), ``--role detect`` (windowed
passes at the event clock) and ``--role serve``, and the simulator — into a
fresh database. Every ``--sample-s`` seconds it records each process's
resident memory (``VmRSS`` from ``/proc``; for PostgreSQL backends of the soak
database their private ``RssAnon``, since shared buffers are not theirs) and
the readings committed so far.

The baseline is the same run's first tenth (after warm-up): the report gives,
per process, RSS at the end against RSS at 10 % of the run, and throughput per
tenth of the run against the first tenth. Flat memory means ratios near 1.0
and no steady climb; steady throughput means tenths near the first one.
"""

from __future__ import annotations

import itertools
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from assetwatch.embedded import free_port, start_broker
from telemetry.sqlfiles import query

LOCAL_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def rss_kb(pid: int, field_name: str = "VmRSS") -> int:
    """A memory figure of one process from ``/proc/<pid>/status`` (0 once it has gone)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return 0
    return 0


@dataclass
class Sample:
    """One observation: seconds since start, readings committed, memory per process (kB)."""

    t: float
    readings: int
    event_time: str | None
    rss: dict[str, int] = field(default_factory=dict)


def _assetwatch() -> list[str]:
    return [sys.executable, "-c", "from assetwatch.cli import main; main()"]


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as fh:
        return subprocess.Popen(
            [*_assetwatch(), *args],
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait_ready(log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while "all roles ready" not in log.read_text(errors="replace"):
        if time.monotonic() > deadline:
            raise click.ClickException(f"a role did not start; see {log}")
        time.sleep(0.2)


def _stop(proc: subprocess.Popen[bytes], timeout: float = 60) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()


def _readings(conn: psycopg.Connection[Any]) -> tuple[int, str | None]:
    row = conn.execute(query("assetwatch", "soak_progress")).fetchone()
    if row is None:
        return 0, None
    return int(row[0] or 0), (row[1].isoformat() if row[1] is not None else None)


def _pg_backends_anon_kb(conn: psycopg.Connection[Any]) -> int:
    pids = [int(r[0]) for r in conn.execute(query("assetwatch", "soak_backend_pids"))]
    return sum(rss_kb(p, "RssAnon") for p in pids)


def summarise(samples: list[Sample], duration_s: float) -> dict[str, Any]:
    """RSS growth per process and throughput per tenth, each against the first tenth."""
    if len(samples) < 10:
        raise click.ClickException("too few samples for a soak report (run longer)")
    tenth = max(1, len(samples) // 10)
    base, last = samples[tenth], samples[-1]
    memory = {}
    for name in base.rss:
        series = [s.rss.get(name, 0) for s in samples[tenth:] if s.rss.get(name, 0) > 0]
        if not series or not base.rss[name]:
            continue
        memory[name] = {
            "rss_mb_at_10pct": round(base.rss[name] / 1024, 1),
            "rss_mb_end": round(series[-1] / 1024, 1),
            "rss_mb_max": round(max(series) / 1024, 1),
            "end_vs_10pct": round(series[-1] / base.rss[name], 3),
        }
    rates = []
    edges = [samples[min(len(samples) - 1, i * tenth)] for i in range(11)]
    for a, b in itertools.pairwise(edges):
        if b.t > a.t:
            rates.append((b.readings - a.readings) / (b.t - a.t))
    first = rates[0] if rates and rates[0] > 0 else float("nan")
    return {
        "duration_s": round(duration_s, 1),
        "readings": last.readings,
        "readings_per_s_mean": round(last.readings / max(last.t, 1e-9), 1),
        "readings_per_s_by_tenth": [round(r, 1) for r in rates],
        "tenths_vs_first": [round(r / first, 3) for r in rates],
        "memory": memory,
    }


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    mosq = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    try:
        out = subprocess.run([mosq, "-h"], capture_output=True, text=True, timeout=5).stdout
        mosquitto = out.splitlines()[0] if out else "?"
    except OSError:
        mosquitto = "amqtt"
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "mosquitto": mosquitto,
    }


@click.command()
@click.option(
    "--fleet",
    default="vehicle=600,ship=100,farm=50,equipment=100",
    show_default=True,
    help="Assets per class (a farm has 4 terminals: the default is 1,000 terminals).",
)
@click.option("--days", default=30.0, show_default=True, help="Simulated days.")
@click.option("--speedup", default=2880.0, show_default=True, help="Simulated time speed-up.")
@click.option("--sample-s", default=10.0, show_default=True, help="Seconds between samples.")
@click.option("--seed", default=1, show_default=True)
@click.option(
    "--scenario",
    default="quiet",
    show_default=True,
    help="Simulator preset (quiet: no incidents, the steady-state load).",
)
@click.option("--out", "out_path", type=click.Path(path_type=Path), help="Write samples + report.")
@click.option(
    "--max-wall-s",
    type=float,
    default=None,
    help="Stop sampling after this long (the report says completed=false).",
)
@click.option(
    "--ingest-workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 8),
    help="Ingest processes in one shared-subscription group (each with the streaming detectors).",
)
@click.option("--keep", is_flag=True, help="Keep the soak database afterwards.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def soak(
    fleet: str,
    days: float,
    speedup: float,
    sample_s: float,
    seed: int,
    scenario: str,
    out_path: Path | None,
    max_wall_s: float | None,
    ingest_workers: int,
    keep: bool,
    as_json: bool,
) -> None:
    """A simulated period for a fleet through every process: memory flat? throughput steady?"""
    admin = os.environ.get("ASSETWATCH_DATABASE_URL") or LOCAL_PG
    name = f"aw_soak_{uuid.uuid4().hex[:8]}"
    work = Path(tempfile.mkdtemp(prefix="aw-soak-"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        pg_version = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
    db_url = make_conninfo(admin, dbname=name)
    broker = start_broker(work / "mqtt")
    procs: dict[str, subprocess.Popen[bytes]] = {}
    samples: list[Sample] = []
    failure: str | None = None
    try:
        from collateral.document import load_json
        from collateral.registry import import_document
        from telemetry.schema import migrate

        with psycopg.connect(db_url) as conn:
            migrate(conn)
            conn.commit()
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASSETWATCH_")}
        env |= {
            "ASSETWATCH_DATABASE_URL": db_url,
            "ASSETWATCH_MQTT_URL": broker.url,
            "ASSETWATCH_DETECT_CLOCK": "event",
            "ASSETWATCH_DETECT_INTERVAL_S": "30",
            "ASSETWATCH_HTTP_PORT": str(free_port()),
            "ASSETWATCH_INGEST_CLIENT_ID": f"soak-{name}",
        }
        sim_args = ["simulate", "--fleet", fleet, "--days", str(days), "--speedup", str(speedup)]
        sim_args += ["--seed", str(seed), "--scenario", scenario, "--no-progress"]
        reg = work / "registry.json"
        subprocess.run(
            [*_assetwatch(), *sim_args, "--registry", str(reg), "--registry-only"],
            env=env,
            check=True,
        )
        with psycopg.connect(db_url) as conn:
            import_document(conn, load_json(reg.read_text()), actor="soak", allow_conflicts=True)
            conn.commit()
        for proc_name, role, role_env in _roles(env, name, ingest_workers):
            procs[proc_name] = _spawn(["run", "--role", role], role_env, work / f"{proc_name}.log")
            _wait_ready(work / f"{proc_name}.log")
        t0 = time.monotonic()
        procs["simulator"] = _spawn([*sim_args, "--json"], env, work / "simulator.log")
        broker_pid = _broker_pid(work / "mqtt")
        click.echo(f"soak: {fleet}, {days:g} days at {speedup:g}x; logs in {work}", err=True)
        with psycopg.connect(db_url, autocommit=True) as conn:
            idle_since: float | None = None
            last = -1
            while not _sampling_done(t0, max_wall_s):
                time.sleep(sample_s)
                n, evt = _readings(conn)
                s = Sample(time.monotonic() - t0, n, evt)
                for role, p in procs.items():
                    s.rss[role] = rss_kb(p.pid)
                if broker_pid:
                    s.rss["mosquitto"] = rss_kb(broker_pid)
                s.rss["postgres_backends_anon"] = _pg_backends_anon_kb(conn)
                samples.append(s)
                click.echo(
                    f"  t={s.t:7.0f}s readings={n:>10,} event={evt} "
                    + " ".join(f"{k}={v // 1024}MB" for k, v in s.rss.items()),
                    err=True,
                )
                rc = procs["simulator"].poll()
                if rc not in (None, 0):
                    failure = f"the simulator failed (exit {rc}); see {work / 'simulator.log'}"
                    click.echo(failure, err=True)
                    break
                if rc == 0:
                    idle_since = idle_since or time.monotonic()
                    if n == last and time.monotonic() - idle_since > 3 * sample_s:
                        break
                last = n
        duration = time.monotonic() - t0
        completed = failure is None and procs["simulator"].poll() == 0
    except KeyboardInterrupt:
        # Report what was measured so far, marked as not completed.
        duration = time.monotonic() - t0 if samples else 0.0
        completed = False
    finally:
        for p in procs.values():
            _stop(p)
        broker.stop()
        if not keep:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
    report = {
        "bench": "soak",
        "fleet": fleet,
        "days": days,
        "speedup": speedup,
        "scenario": scenario,
        "ingest_workers": ingest_workers,
        "completed": completed,
        "failure": failure,
        "machine": machine() | {"postgresql": pg_version},
        **summarise(samples, duration),
    }
    if out_path is not None:
        out_path.write_text(
            json.dumps({"report": report, "samples": [s.__dict__ for s in samples]}, indent=1)
        )
    if as_json:
        click.echo(json.dumps(report))
        return
    click.echo(json.dumps(report, indent=2))


def _roles(
    env: dict[str, str], name: str, ingest_workers: int
) -> list[tuple[str, str, dict[str, str]]]:
    """(process name, role, environment) of every long-running process.

    Several ingest workers share one subscription group, each with its own
    client id and so its own persistent session, as docs/deploy.md describes.
    """
    out: list[tuple[str, str, dict[str, str]]] = []
    for n in range(1, ingest_workers + 1):
        worker_env = dict(env)
        if ingest_workers > 1:
            worker_env["ASSETWATCH_INGEST_SHARED_GROUP"] = f"soak-{name}"
            worker_env["ASSETWATCH_INGEST_CLIENT_ID"] = f"soak-{name}-{n}"
        out.append(("ingest" if n == 1 else f"ingest-{n}", "ingest", worker_env))
    out += [("detect", "detect", env), ("serve", "serve", env)]
    return out


def _sampling_done(t0: float, max_wall_s: float | None) -> bool:
    return max_wall_s is not None and time.monotonic() - t0 > max_wall_s


def _broker_pid(data_dir: Path) -> int | None:
    """The Mosquitto/amqtt process started for ``data_dir`` (found by its config path)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(data_dir) in cmd and ("mosquitto" in cmd or "amqtt" in cmd):
            return int(entry.name)
    return None
