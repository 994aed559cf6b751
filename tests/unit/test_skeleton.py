from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from assetwatch.cli import COMMANDS, cli
from telemetry.errors import ReadingRangeError
from telemetry.model import check_reading
from telemetry.sqlfiles import parse_named_blocks
from tests.factories import make_reading

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SKEW = timedelta(minutes=5)


def test_every_subcommand_has_help() -> None:
    runner = CliRunner()
    for name in COMMANDS:
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)


def test_named_blocks() -> None:
    blocks = parse_named_blocks("-- name: a\nSELECT 1;\n\n-- name: b\nSELECT 2;\n")
    assert blocks == {"a": "SELECT 1;", "b": "SELECT 2;"}
    with pytest.raises(ValueError, match="twice"):
        parse_named_blocks("-- name: a\nSELECT 1;\n-- name: a\nSELECT 2;\n")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("lat", 91.0),
        ("lon", -180.5),
        ("lat", float("nan")),
        ("engine_hours", -1.0),
        ("odometer_km", float("inf")),
        ("fuel_pct", 101.0),
    ],
)
def test_range_errors_name_the_field(field: str, value: float) -> None:
    with pytest.raises(ReadingRangeError) as info:
        check_reading(make_reading(**{field: value}), now=NOW, max_future_skew=SKEW)
    assert info.value.field == field
    assert field in str(info.value)


def test_future_event_time_rejected() -> None:
    r = make_reading(ts=NOW + timedelta(hours=1))
    with pytest.raises(ReadingRangeError) as info:
        check_reading(r, now=NOW, max_future_skew=SKEW)
    assert info.value.field == "ts"


def test_valid_reading_passes() -> None:
    check_reading(make_reading(), now=NOW, max_future_skew=SKEW)
