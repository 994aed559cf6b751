"""The demo plays only simulated time not played yet (no overlapping tracks after restarts)."""

from __future__ import annotations

import json
from pathlib import Path

from assetwatch.demo import DemoOptions, days_to_simulate, record_progress

DAY = 86400.0


def test_first_start_plays_the_whole_period(tmp_path: Path) -> None:
    assert days_to_simulate(DemoOptions(days=3, speedup=600), tmp_path, 1e9) == 3


def test_restart_soon_after_a_full_run_plays_little(tmp_path: Path) -> None:
    now = 1e9
    (tmp_path / "state.json").write_text(json.dumps({"sim_end": now - 600}))
    days = days_to_simulate(DemoOptions(days=3, speedup=600), tmp_path, now)
    # the new period [end - d, end] with end = now + d/600 must start at or after now - 600 s
    start = now + days * DAY / 600 - days * DAY
    assert start >= now - 600 - 1e-6
    assert days < 0.01


def test_restart_days_later_plays_the_full_period(tmp_path: Path) -> None:
    now = 1e9
    (tmp_path / "state.json").write_text(json.dumps({"sim_end": now - 10 * DAY}))
    assert days_to_simulate(DemoOptions(days=3, speedup=600), tmp_path, now) == 3


def test_interrupted_run_records_how_far_it_got(tmp_path: Path) -> None:
    wall0, period_start = 1e9, 1e9 - 3 * DAY
    state = {"sim_end": wall0 + 432, "wall_start": wall0, "period_start": period_start}
    (tmp_path / "state.json").write_text(json.dumps(state))
    record_progress(tmp_path, 600, wall0 + 60)  # Ctrl-C after one minute at 600x
    got = json.loads((tmp_path / "state.json").read_text())["sim_end"]
    assert got == period_start + 60 * 600
