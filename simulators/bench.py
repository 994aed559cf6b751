"""``assetwatch bench simulate``: generation rate and firehose publishing vs a paho baseline.

Prints, for one run on this machine: how fast a 10,000-device fleet is
generated (event loop only), then publishing rates to the broker for

- baseline: the minimal paho-mqtt 2 loop over pre-built payloads
  (``client.publish`` in a loop with default settings, then wait until sent/acked);
- firehose (raw): pre-encoded PUBLISH packets written in chunks;
- firehose (paho): paho with a bounded in-flight window,

each at QoS 0 and QoS 1, with ratios against the baseline of the same QoS.
Topics go under a unique ``bench-sim/<uuid>/`` prefix so no ingest on the
shared broker receives them.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
import uuid

import click
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from assetwatch.cli import settings_of
from assetwatch.mqtt import MqttTarget, parse_mqtt_url
from simulators.errors import PublishError, SimulatorError
from simulators.firehose import FirehoseResult, RawFirehose, paho_firehose
from simulators.simulation import SimConfig, Simulation

FLEET_10K = "vehicle=6000,ship=1000,farm=500,equipment=1000"  # 10,000 terminals


def _version(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=5, check=False)
    except OSError:
        return "n/a"
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if text else "n/a"


def machine() -> dict[str, object]:
    return {
        "cores": os.cpu_count(),
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "postgresql": _version(["psql", "--version"]),
        "mosquitto": _version(["mosquitto", "-h"]),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def paho_baseline(
    target: MqttTarget, pool: list[tuple[str, bytes]], *, qos: int, total: int
) -> FirehoseResult:
    """The minimal paho-mqtt 2 publish loop: defaults, loop thread, publish everything, wait."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"aw-base-{uuid.uuid4().hex[:10]}")
    if target.username is not None:
        client.username_pw_set(target.username, target.password)
    try:
        client.connect(target.host, target.port)
    except OSError as exc:
        raise PublishError(f"cannot connect to MQTT broker {target.url()}: {exc}") from exc
    client.loop_start()
    time.sleep(0.2)
    t0 = time.perf_counter()
    infos = [client.publish(*pool[k % len(pool)], qos=qos) for k in range(total)]
    infos[-1].wait_for_publish(300)
    while client.want_write() or client._out_messages:
        time.sleep(0.0005)
    elapsed = time.perf_counter() - t0
    client.disconnect()
    client.loop_stop()
    return FirehoseResult(total, elapsed)


@click.command("simulate")
@click.option(
    "--total", type=int, default=300_000, show_default=True, help="messages per firehose run"
)
@click.option(
    "--baseline-total",
    type=int,
    default=60_000,
    show_default=True,
    help="messages per baseline run",
)
@click.option(
    "--sim-hours",
    type=float,
    default=1.0,
    show_default=True,
    help="simulated hours of the 10,000-device fleet to generate",
)
@click.option(
    "--mqtt-url", default=None, help="broker (default: ASSETWATCH_MQTT_URL or local 1883)"
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def simulate_bench(ctx: click.Context, total: int, baseline_total: int, sim_hours: float,
                   mqtt_url: str | None, as_json: bool) -> None:  # fmt: skip
    """Simulator generation rate, and firehose publishing vs a minimal paho loop."""
    settings = settings_of(ctx)
    target = parse_mqtt_url(mqtt_url or settings.mqtt_url or "mqtt://127.0.0.1:1883")
    report: dict[str, object] = {"machine": machine()}
    t0 = time.perf_counter()
    sim = Simulation(SimConfig(fleet=FLEET_10K, days=sim_hours / 24, seed=1, scenario="eval",
                               start="2026-11-02T00:00:00Z"))  # fmt: skip
    build_s = time.perf_counter() - t0
    prefix = f"bench-sim/{uuid.uuid4().hex[:8]}/"
    pool: list[tuple[str, bytes]] = []
    c0, w0 = time.process_time(), time.perf_counter()
    n = 0
    for msg in sim.messages():
        n += 1
        if len(pool) < 100_000:
            pool.append((prefix + msg.topic, msg.payload))
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    report["generate"] = {
        "devices": sim.device_count, "simulated_hours": sim_hours, "messages": n,
        "build_s": round(build_s, 2), "wall_s": round(wall, 2),
        "messages_per_s_wall": round(n / wall), "messages_per_s_cpu": round(n / cpu),
        "realtime_factor": round(sim_hours * 3600 / wall, 1),
        "mean_payload_bytes": round(sum(len(p) for _t, p in pool) / max(1, len(pool))),
    }  # fmt: skip
    runs: dict[str, dict[str, float]] = {}
    try:
        _publish_runs(target, pool, total, baseline_total, runs)
    except SimulatorError as exc:
        raise click.ClickException(str(exc)) from exc
    report["publish_messages_per_s"] = runs
    _print(report, runs, as_json)


def _publish_runs(
    target: MqttTarget,
    pool: list[tuple[str, bytes]],
    total: int,
    baseline_total: int,
    runs: dict[str, dict[str, float]],
) -> None:
    for qos in (0, 1):
        base = paho_baseline(target, pool, qos=qos, total=baseline_total)
        raw = RawFirehose(target).run(pool, qos=qos, total=total)
        pf = paho_firehose(target, pool, qos=qos, total=min(total, 100_000), window=100)
        runs[f"qos{qos}"] = {
            "baseline_paho_loop": round(base.rate),
            "firehose_raw": round(raw.rate),
            "firehose_paho_window": round(pf.rate),
            "raw_vs_baseline": round(raw.rate / base.rate, 2),
            "paho_window_vs_baseline": round(pf.rate / base.rate, 2),
        }


def _print(report: dict[str, object], runs: dict[str, dict[str, float]], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report))
        return
    m = report["machine"]
    click.echo(f"machine: {m}")
    g = report["generate"]
    click.echo(f"generate: {g}")
    click.echo(
        f"{'qos':<5}{'baseline paho loop':>20}{'firehose raw':>15}{'x':>7}"
        f"{'paho window':>14}{'x':>7}"
    )
    for name, r in runs.items():
        click.echo(
            f"{name:<5}{r['baseline_paho_loop']:>20,}{r['firehose_raw']:>15,}"
            f"{r['raw_vs_baseline']:>7}{r['firehose_paho_window']:>14,}{r['paho_window_vs_baseline']:>7}"
        )
