"""docs/configuration.md lists every setting, so the docs stay true to the code."""

from __future__ import annotations

import re
from pathlib import Path

from assetwatch.settings import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_every_setting_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [
        f"ASSETWATCH_{name.upper()}"
        for name in Settings.model_fields
        if f"`ASSETWATCH_{name.upper()}`" not in text
    ]
    assert not missing, f"add these to docs/configuration.md: {missing}"


def test_no_documented_setting_is_gone() -> None:
    known = {f"ASSETWATCH_{name.upper()}" for name in Settings.model_fields}
    documented = set(re.findall(r"`(ASSETWATCH_[A-Z0-9_]+)`", DOC.read_text(encoding="utf-8")))
    # Test-harness variables are documented too but are not settings.
    harness = {
        "ASSETWATCH_TEST_DATABASE_URL",
        "ASSETWATCH_TEST_MQTT_URL",
        "ASSETWATCH_TEST_TIMESCALE_URL",
        "ASSETWATCH_NO_BROWSER_INSTALL",
    }
    assert documented - known - harness == set()


def test_documented_defaults_are_the_code_defaults() -> None:
    """The default column says what Settings does (``unset`` for None)."""
    wrong = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\|\s*`ASSETWATCH_([A-Z0-9_]+)`\s*\|\s*([^|]*)\|", line)
        if not m or m.group(1).lower() not in Settings.model_fields:
            continue
        default = Settings.model_fields[m.group(1).lower()].default
        documented = m.group(2).strip().strip("`")
        expected = "unset" if default is None else str(default)
        if documented != expected:
            wrong.append(f"ASSETWATCH_{m.group(1)}: docs say {documented!r}, code {expected!r}")
    assert not wrong, wrong
