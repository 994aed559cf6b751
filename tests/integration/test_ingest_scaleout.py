"""Two ingest workers on one shared subscription: no loss, nothing stored twice."""

from __future__ import annotations

import uuid
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from assetwatch.settings import Settings
from tests.ingest_support import (
    count,
    own_broker,
    publish_all,
    publisher,
    register,
    running_ingest,
    wait_until,
)

pytestmark = pytest.mark.integration


def test_two_workers_share_the_load(db_url: str, tmp_path: Path) -> None:
    devices = [f"so-{uuid.uuid4().hex[:6]}" for _ in range(10)]
    for d in devices:
        register(db_url, d)
    t0 = datetime.now(UTC) - timedelta(hours=1)
    items = [
        (
            f"assetwatch/{d}/telemetry",
            orjson.dumps({"ts": (t0 + timedelta(seconds=i)).isoformat(), "seq": i}),
        )
        for i in range(200)
        for d in devices
    ]
    group = f"g{uuid.uuid4().hex[:6]}"
    with own_broker() as broker, ExitStack() as stack:
        workers = [
            stack.enter_context(
                running_ingest(
                    Settings(
                        database_url=db_url,
                        mqtt_url=broker.url,
                        data_dir=tmp_path,
                        ingest_shared_group=group,
                        ingest_batch_max_age_ms=50,
                        ingest_session_expiry_s=60,
                    ),
                    client_id=f"{group}-w{i}",
                )
            )
            for i in range(2)
        ]
        pub = publisher(broker.url)
        try:
            publish_all(pub, items)
            publish_all(pub, items[:300])  # a publisher retry: the same readings again
        finally:
            pub.loop_stop()
            pub.disconnect()
        assert wait_until(lambda: sum(w.stats.messages for w in workers) >= len(items) + 300)
        assert wait_until(lambda: count(db_url, "SELECT count(*) FROM readings") == len(items))
    assert all(w.stats.messages > 0 for w in workers), [w.stats for w in workers]
    assert count(
        db_url, "SELECT count(*) FROM (SELECT DISTINCT device_id, seq FROM readings) s"
    ) == len(items)
    assert count(db_url, "SELECT count(*) FROM latest_state") == len(devices)
