"""Post-loan alerts: detectors, the alert engine and lifecycle, feed, evaluation.

Entry points for other packages:

- ingest: ``alerts.streaming.commit_hook(settings)`` → a ``(conn, readings) -> None``
  hook to call inside the write transaction (``StreamingHook``);
- the ``detect`` role: ``alerts.windowed.run_pass(conn, settings, now)``;
- the gateway: ``alerts.lifecycle.acknowledge / resolve / outcomes_by_kind`` and
  ``alerts.publish.events_after(conn, after_id)`` for the live feed;
- ``assetwatch evaluate``: ``alerts.cli.evaluate``.
"""

from __future__ import annotations

from alerts.detectors import KINDS, DeviceContext, Level, Signal
from alerts.engine import AlertChange, AlertPolicy, apply_signals, clear_due
from alerts.errors import AlertNotFound, AlertsError, InvalidTransition, TruthFileError
from alerts.lifecycle import (
    OUTCOMES,
    KindOutcomes,
    acknowledge,
    assign,
    outcomes_by_kind,
    resolve,
)
from alerts.publish import AlertPublisher, FeedEvent, events_after
from alerts.streaming import StreamingHook, commit_hook, policy_from
from alerts.windowed import PassReport, run_pass

__all__ = [
    "KINDS",
    "OUTCOMES",
    "AlertChange",
    "AlertNotFound",
    "AlertPolicy",
    "AlertPublisher",
    "AlertsError",
    "DeviceContext",
    "FeedEvent",
    "InvalidTransition",
    "KindOutcomes",
    "Level",
    "PassReport",
    "Signal",
    "StreamingHook",
    "TruthFileError",
    "acknowledge",
    "apply_signals",
    "assign",
    "clear_due",
    "commit_hook",
    "events_after",
    "outcomes_by_kind",
    "policy_from",
    "resolve",
    "run_pass",
]
