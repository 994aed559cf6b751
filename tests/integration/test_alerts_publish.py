"""Alert events reach MQTT (QoS 1) from the alert_events outbox, once per cursor position."""

from __future__ import annotations

import json
import queue
import uuid
from datetime import UTC, datetime

import paho.mqtt.client as paho
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from alerts.detectors import Level, Signal
from alerts.engine import AlertPolicy, apply_signals
from alerts.publish import AlertPublisher, events_after
from assetwatch.mqtt import parse_mqtt_url
from assetwatch.settings import Settings

pytestmark = pytest.mark.integration


def test_events_published_on_level_and_asset_topic(settings: Settings) -> None:
    asset = f"A-{uuid.uuid4().hex[:8]}"
    got: queue.Queue[tuple[str, dict[str, object]]] = queue.Queue()
    target = parse_mqtt_url(settings.mqtt_url or "")
    sub = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex[:8]}")
    sub.on_message = lambda c, u, m: got.put((m.topic, json.loads(m.payload)))
    sub.connect(target.host, target.port)
    sub.subscribe(f"assetwatch/alerts/+/{asset}", qos=1)
    sub.loop_start()
    try:
        with psycopg.connect(settings.database_url or "") as conn:
            now = datetime(2026, 3, 2, 8, tzinfo=UTC)
            sig = Signal(kind="tamper", device_id="T1", asset_id=asset, ts=now, active=True,
                         level=Level.ORANGE)  # fmt: skip
            apply_signals(conn, [sig], AlertPolicy())
            conn.commit()
            assert [e.event for e in events_after(conn, 0)] == ["raised"]
            pub = AlertPublisher(
                settings.model_copy(update={"alerts_mqtt_client_id": f"p-{uuid.uuid4().hex[:8]}"})
            )
            pub.connect()
            try:
                assert pub.publish_pending(conn) == 1
                assert pub.publish_pending(conn) == 0  # the cursor moved past it
            finally:
                pub.close()
        topic, body = got.get(timeout=10)
        assert topic == f"assetwatch/alerts/orange/{asset}"
        assert body["event"] == "raised"
        assert body["kind"] == "tamper"
    finally:
        sub.loop_stop()
        sub.disconnect()
