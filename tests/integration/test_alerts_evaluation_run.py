"""The evaluation pipeline end to end on a small preset (simulate → ingest → detect → score).

Quality targets are checked by ``assetwatch evaluate --preset`` over weeks of
simulated time (see the README); here a two-day run of a small fleet checks the
numbers are computed from real alerts and that the streaming detectors catch
what the simulator scripted without false alarms.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from alerts.engine import AlertPolicy
from alerts.evalrun import simulate_into
from alerts.evaluation import detections_from_db, parse_truth, score
from alerts.streaming import StreamingHook
from assetwatch.settings import Settings
from simulators import SimConfig, Simulation

pytestmark = [pytest.mark.integration, pytest.mark.slow]

STREAMING = ("zone_exit", "moved_while_parked", "tamper", "spoofing", "fabrication", "offline")


def test_small_preset_is_scored_from_the_database(db_url: str) -> None:
    config = SimConfig(fleet="vehicle=6,equipment=4", days=2, seed=5, scenario="eval-small")
    sim = Simulation(config)
    truth = parse_truth([json.dumps(t) for t in sim.truth()])
    settings = Settings(database_url=db_url)
    with psycopg.connect(db_url) as conn:
        stats = simulate_into(conn, db_url, settings, sim, hook=StreamingHook(policy=AlertPolicy()),
                              pass_every=timedelta(hours=2))  # fmt: skip
        detections = detections_from_db(conn)
    assert stats.readings > 5_000
    report = score(truth, detections, asset_days=len(sim.fleet.assets) * config.days,
                   horizon=datetime.fromtimestamp(sim.end, UTC))  # fmt: skip
    kinds = {k.kind: k for k in report.kinds}
    scripted = [k for k in STREAMING if kinds[k].incidents]
    assert scripted, "the preset scripted no streaming incident"
    for kind in scripted:
        assert kinds[kind].recall == 1.0, report.table()
    assert sum(k.false_alarms for k in report.kinds) == 0, report.table()
