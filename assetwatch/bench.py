"""``assetwatch bench NAME``: the benchmarks behind every figure in the README.

Each benchmark measures its baseline in the same run and prints ratios; the
scripts in ``bench/`` call the same functions.
"""

from __future__ import annotations

from typing import Final

import click

from assetwatch.lazy import LazyGroup

BENCHMARKS: Final[dict[str, tuple[str, str]]] = {
    # name: (module:attribute of a click command, one-line help)
    "store": (
        "telemetry.bench:store",
        "Telemetry bulk writer (COPY, dedup on) vs executemany, plus rollup refresh rate.",
    ),
    "simulate": (
        "simulators.bench:simulate_bench",
        "Simulator: 10,000-device generation rate; firehose publish vs a minimal paho loop.",
    ),
    "soak": (
        "assetwatch.soak:soak",
        "A simulated month for 1,000 terminals through every process: RSS and throughput.",
    ),
    "ingest": (
        "ingest.bench:bench_ingest",
        "MQTT to database: ingest vs raw paho, naive INSERT and Node-RED 4.1.8.",
    ),
    "provenance": (
        "collateral.provenance.bench:provenance",
        "Provenance report over 180 days of one-minute data: rollups vs raw readings.",
    ),
    "detect": ("alerts.bench:detect", "One windowed detector pass over 10,000 assets x 30 days."),
    "gateway": (
        "gateway.bench:bench_gateway",
        "HTTP: latest state of 10,000 assets, alert queue first page, alert feed latency.",
    ),
    "detect-streaming": (
        "alerts.bench:detect_streaming",
        "Ingest write rate with and without the streaming detectors.",
    ),
}


@click.group(cls=LazyGroup, lazy_commands=BENCHMARKS, section="Benchmarks")
def bench() -> None:
    """Run a benchmark; each prints its figures against a same-run baseline."""
