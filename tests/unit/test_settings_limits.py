"""Settings refuse values the protocols they feed cannot carry, naming the setting."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from assetwatch.settings import Settings


def test_receive_maximum_above_mqtt_limit_is_refused() -> None:
    """MQTT 5's Receive Maximum is a 16-bit field: a larger setting names itself at start-up."""
    Settings(ingest_max_inflight_messages=65535)
    with pytest.raises(ValidationError, match="ingest_max_inflight_messages"):
        Settings(ingest_max_inflight_messages=65536)
