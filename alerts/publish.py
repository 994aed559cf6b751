"""Alert events to MQTT for downstream systems: ``assetwatch/alerts/{level}/{asset_id}``.

An outbox: alert changes are committed to ``alert_events`` with the readings or
pass that caused them; :class:`AlertPublisher` tails that table from its saved
cursor and publishes each event with QoS 1, advancing the cursor only after the
broker acknowledged it. A crash re-sends at most the unacknowledged tail
(at-least-once, deduplicate downstream by ``event_id``); nothing is lost.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from alerts.errors import AlertsError
from assetwatch.mqtt import configure_paho, target_from_settings
from assetwatch.settings import Settings
from telemetry.db import Conn
from telemetry.sqlfiles import query

log = logging.getLogger(__name__)

TOPIC: Final = "assetwatch/alerts/{level}/{asset_id}"


class PublishFailed(AlertsError):
    """The broker could not be reached or did not acknowledge in time."""


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """One row of ``alert_events`` (the live feed and the MQTT payload)."""

    id: int
    alert_id: int
    event: str
    event_ts: datetime
    at: datetime
    asset_id: str
    kind: str
    level: str
    status: str
    payload: dict[str, Any]

    def topic(self, prefix: str = "assetwatch/alerts") -> str:
        return f"{prefix}/{self.level}/{self.asset_id}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.id, "alert_id": self.alert_id, "event": self.event,
            "event_ts": self.event_ts.isoformat(), "at": self.at.isoformat(),
            "asset_id": self.asset_id, "kind": self.kind, "level": self.level,
            "status": self.status, "detail": self.payload,
        }  # fmt: skip


def events_after(conn: Conn, after: int, *, limit: int = 500) -> list[FeedEvent]:
    """Feed events with id > ``after``, oldest first (resume with the last id seen)."""
    rows = conn.execute(query("alerts", "events_after"), {"after": after, "limit": limit})
    return [
        FeedEvent(int(r[0]), int(r[1]), str(r[2]), r[3], r[4], str(r[5]), str(r[6]), str(r[7]),
                  str(r[8]), r[9] if isinstance(r[9], dict) else {})
        for r in rows
    ]  # fmt: skip


class AlertPublisher:
    """Publishes ``alert_events`` to MQTT with QoS 1 from a persistent cursor."""

    def __init__(self, settings: Settings, *, name: str = "mqtt", timeout_s: float = 10.0) -> None:
        self.name = name
        self.timeout_s = timeout_s
        self._target = target_from_settings(settings)
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=settings.alerts_mqtt_client_id,
            clean_session=False,
        )  # fmt: skip
        configure_paho(self._client, self._target, settings)
        self._connected = False

    def connect(self) -> None:
        try:
            self._client.connect(self._target.host, self._target.port)
        except OSError as exc:
            raise PublishFailed(f"cannot reach the MQTT broker: {exc}") from exc
        self._client.loop_start()
        self._connected = True

    def close(self) -> None:
        if self._connected:
            self._client.loop_stop()
            self._client.disconnect()
            self._connected = False

    def publish_pending(self, conn: Conn, *, limit: int = 500) -> int:
        """Publish what is new since the cursor; returns how many were acknowledged."""
        row = conn.execute(query("alerts", "cursor_get"), {"name": self.name}).fetchone()
        after = int(row[0]) if row else 0
        sent = 0
        for ev in events_after(conn, after, limit=limit):
            info = self._client.publish(ev.topic(), json.dumps(ev.as_dict(), default=str), qos=1)
            try:
                info.wait_for_publish(self.timeout_s)
            except (RuntimeError, ValueError) as exc:
                raise PublishFailed(f"event {ev.id} not published: {exc}") from exc
            if not info.is_published():
                raise PublishFailed(f"event {ev.id}: no PUBACK within {self.timeout_s} s")
            conn.execute(query("alerts", "cursor_set"), {"name": self.name, "id": ev.id})
            conn.commit()
            sent += 1
        conn.commit()
        return sent

    def run(self, conn: Conn, stop: threading.Event, *, poll_s: float = 1.0) -> None:
        """Publish until ``stop`` is set (the caller reconnects on :class:`PublishFailed`)."""
        self.connect()
        try:
            while not stop.is_set():
                if self.publish_pending(conn) == 0:
                    stop.wait(poll_s)
        finally:
            self.close()
