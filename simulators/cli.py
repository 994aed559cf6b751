"""``assetwatch simulate``: run a simulated fleet against the broker (or into a file).

Real time by default; ``--speedup N`` plays the simulated period N times
faster and ``--backfill`` as fast as possible. Without ``--start`` the period
is placed so that it ends when the run ends (``--backfill``: it ends now), so
event times are never in the future.
"""

from __future__ import annotations

import base64
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import click

from assetwatch.cli import settings_of
from simulators.engine import SimMessage
from simulators.errors import SimulatorError
from simulators.publish import Publisher, pace
from simulators.registry import write_registry
from simulators.simulation import SimConfig, Simulation
from simulators.timebase import DAY, rfc3339


def _progress(msgs: Iterator[SimMessage], sim: Simulation, show: bool) -> Iterator[SimMessage]:
    if not show:
        yield from msgs
        return
    total = int(sim.end - sim.start)
    with click.progressbar(
        length=total,
        label="simulating",
        file=sys.stderr,
        show_pos=False,
        show_percent=True,
        show_eta=True,
    ) as bar:
        done = 0
        for m in msgs:
            now = int(m.send_time - sim.start)
            if now > done:
                bar.update(now - done)
                done = now
            yield m
        bar.update(total - done)


_UNITS = {"d": DAY, "h": 3600.0, "m": 60.0, "s": 1.0}


def _start_value(text: str) -> str | float:
    """``-3d`` / ``-12h`` / ``-90m`` relative to now; anything else is RFC 3339 text."""
    if text.startswith("-") and text[-1:] in _UNITS:
        try:
            amount = float(text[1:-1])
        except ValueError:
            raise click.BadParameter(
                f"{text!r}: expected like -3d or -12h", param_hint="--start"
            ) from None
        return float(int(time.time())) - amount * _UNITS[text[-1]]
    return text


def write_messages(msgs: Iterator[SimMessage], out: IO[str]) -> int:
    """JSON lines: send time, event time, device, kind, topic, base64 payload."""
    n = 0
    for m in msgs:
        out.write(
            json.dumps(
                {
                    "send_time": rfc3339(m.send_time),
                    "event_time": rfc3339(m.event_time.timestamp()),
                    "device_id": m.device_id,
                    "kind": m.kind,
                    "topic": m.topic,
                    "payload_b64": base64.b64encode(m.payload).decode(),
                },
                separators=(",", ":"),
            )
            + "\n"
        )
        n += 1
    return n


@click.command("simulate")
@click.option(
    "--fleet",
    default="vehicle=200,ship=20,farm=50,equipment=30",
    show_default=True,
    help="assets per class, e.g. vehicle=200,ship=20,farm=50,equipment=30",
)
@click.option("--days", type=float, default=1.0, show_default=True, help="simulated period in days")
@click.option("--speedup", type=float, default=1.0, show_default=True, help="play time N× faster")
@click.option("--backfill", is_flag=True, help="generate history as fast as possible, ending now")
@click.option(
    "--start",
    default=None,
    help="start of the period: RFC 3339, or relative to now like -3d / -12h "
    "(default: the period ends when the run ends)",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--scenario",
    default="demo",
    show_default=True,
    help="preset (quiet, demo, eval-small, eval) or a JSON/YAML scenario file",
)
@click.option(
    "--truth",
    "truth_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="write ground truth here, one JSON line per incident",
)
@click.option(
    "--registry",
    "registry_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="write the registry seed (assetwatch-registry/1) here",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "native"]),
    default="json",
    show_default=True,
    help="JSON readings, or each class's own protocol",
)
@click.option("--mqtt-url", default=None, help="broker URL (default: ASSETWATCH_MQTT_URL)")
@click.option("--qos", type=click.IntRange(0, 1), default=1, show_default=True)
@click.option(
    "--topic-prefix", default="", help="prepend PREFIX/ to every topic (isolated test runs)"
)
@click.option("--dry-run", is_flag=True, help="do not publish; just generate (no pacing)")
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="write messages to this file (JSON lines, '-' for stdout) instead of publishing; "
    "no pacing",
)
@click.option("--registry-only", is_flag=True, help="write --registry/--truth and exit")
@click.option("--progress/--no-progress", default=True, help="progress bar on stderr")
@click.option("--json", "as_json", is_flag=True, help="print the summary as JSON")
@click.pass_context
def simulate(
    ctx: click.Context,
    fleet: str,
    days: float,
    speedup: float,
    backfill: bool,
    start: str | None,
    seed: int,
    scenario: str,
    truth_path: Path | None,
    registry_path: Path | None,
    fmt: str,
    mqtt_url: str | None,
    qos: int,
    topic_prefix: str,
    dry_run: bool,
    out_path: Path | None,
    registry_only: bool,
    progress: bool,
    as_json: bool,
) -> None:
    """Simulate vehicle, ship, farm and equipment fleets with scripted incidents."""
    settings = settings_of(ctx)
    if speedup <= 0:
        raise click.BadParameter("must be > 0", param_hint="--speedup")
    # a file or a dry run has no one waiting in real time: generate as fast as possible
    rate = None if backfill or out_path is not None or dry_run else speedup
    if start is None:
        end = float(int(time.time())) + (0.0 if rate is None else days * DAY / rate)
        start_value: str | float = end - days * DAY
    else:
        start_value = _start_value(start)
    try:
        sim = Simulation(
            SimConfig(
                fleet=fleet,
                days=days,
                seed=seed,
                start=start_value,
                scenario=scenario,
                native=fmt == "native",
            )
        )
    except SimulatorError as exc:
        raise click.ClickException(str(exc)) from exc
    if registry_path is not None:
        write_registry(sim.registry(), registry_path)
    if truth_path is not None:
        truth_path.write_text("".join(line + "\n" for line in sim.truth_lines()), encoding="utf-8")
    if registry_only:
        return
    t0 = time.monotonic()
    msgs = _progress(pace(sim.messages(), start=sim.start, speedup=rate), sim, progress)
    try:
        if out_path is not None:
            if str(out_path) == "-":
                n = write_messages(msgs, sys.stdout)
            else:
                with out_path.open("w", encoding="utf-8") as fh:
                    n = write_messages(msgs, fh)
        elif dry_run:
            n = sum(1 for _ in msgs)
        else:
            url = mqtt_url or settings.mqtt_url
            if not url:
                raise click.ClickException("no broker: pass --mqtt-url or set ASSETWATCH_MQTT_URL")
            prefix = topic_prefix.rstrip("/") + "/" if topic_prefix else ""
            with Publisher(url, settings, qos=qos) as pub:
                n = 0
                for m in msgs:
                    pub.publish(prefix + m.topic, m.payload)
                    n += 1
    except SimulatorError as exc:
        raise click.ClickException(str(exc)) from exc
    elapsed = time.monotonic() - t0
    summary = {
        "devices": sim.device_count,
        "assets": len(sim.fleet.assets),
        "incidents": len(sim.incidents),
        "messages": n,
        "start": rfc3339(sim.start),
        "end": rfc3339(sim.end),
        "elapsed_s": round(elapsed, 2),
        "messages_per_s": round(n / elapsed, 1) if elapsed > 0 else None,
    }
    if as_json:
        click.echo(json.dumps(summary))
    else:
        click.echo(
            ", ".join(f"{k}={v}" for k, v in summary.items()),
            err=out_path is not None and str(out_path) == "-",
        )
