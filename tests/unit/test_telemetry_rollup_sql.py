"""The hourly aggregate is written out three times (plain table, continuous aggregate,
TimescaleDB's late-data view); the definitions must not drift apart."""

from __future__ import annotations

import re
from pathlib import Path

MIGRATIONS = Path(__file__).resolve().parents[2] / "telemetry" / "sql" / "migrations"


def aggregate_list(name: str) -> str:
    text = (MIGRATIONS / name).read_text()
    m = re.search(r"count\(\*\)::bigint.*?min\(battery_v\)\s+AS min_battery_v", text, re.S)
    assert m is not None, f"no aggregate list in {name}"
    return re.sub(r"\s+", " ", m.group(0))


def test_the_three_aggregate_lists_are_identical() -> None:
    plain = aggregate_list("0002_hourly_rollups.plain.sql")
    assert aggregate_list("0002_hourly_rollups.timescale.sql") == plain
    assert aggregate_list("0003_rollup_late.timescale.sql") == plain
    assert "aw_path_of" in plain
    assert plain.count("FILTER") == 12
