"""The ingest commit hook: streaming detectors stepped inside the write transaction.

For each batch the hook locks the batch's devices' rows in ``detector_state``
(``SELECT ... FOR UPDATE`` in device order, so two ingest workers sharing a
subscription serialise per device and never deadlock), steps every streaming
detector over each device's new readings in event-time order, writes the
resulting alerts, and saves the states back (one UPDATE over two arrays) — all in
the ingest's transaction. A rollback discards readings, states and alerts
together; a restart neither loses nor repeats an alert.

Use it from ingest with ``ASSETWATCH_INGEST_COMMIT_HOOK=alerts.streaming:commit_hook``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import orjson

from alerts.context import ContextCache
from alerts.detectors.base import DeviceContext, Signal, frozen_copy, working_copy
from alerts.detectors.registry import StreamingDetector, streaming_detectors
from alerts.detectors.state_codec import decode_state, dumps, encode_state
from alerts.engine import AlertChange, AlertPolicy, apply_signals
from alerts.errors import StateDecodeError
from assetwatch.settings import Settings
from telemetry.db import Conn
from telemetry.model import Reading
from telemetry.sqlfiles import query

log = logging.getLogger(__name__)


def policy_from(settings: Settings) -> AlertPolicy:
    """The alert policy configured in the settings."""
    return AlertPolicy(
        clear_after=timedelta(seconds=settings.alert_clear_after_s),
        cooldown=timedelta(seconds=settings.alert_cooldown_s),
    )


def step_device(
    detectors: Sequence[StreamingDetector],
    states: dict[str, Any],
    readings: Sequence[Reading],
    ctx: DeviceContext,
) -> tuple[dict[str, Any], list[Signal]]:
    """Step every detector over one device's readings (sorted here by event time).

    Each detector works on one mutable :func:`working_copy` of its state for the
    whole batch (``evolve`` updates it in place) and the result is frozen once;
    the states passed in are not mutated.
    """
    out = dict(states)
    signals: list[Signal] = []
    ordered = sorted(readings, key=_ts) if len(readings) > 1 else readings
    for det in detectors:
        st = out.get(det.kind)
        st = working_copy(det.initial() if st is None else st)
        work = type(st)
        step = det.step
        for r in ordered:
            st, sigs = step(st, r, ctx)
            if sigs:
                signals.extend(sigs)
            if type(st) is not work:  # the detector started a fresh (frozen) state
                st = working_copy(st)
        out[det.kind] = frozen_copy(st)
    return out, signals


def _ts(r: Reading) -> Any:
    return r.ts


class StreamingHook:
    """Callable commit hook ``(conn, readings) -> None`` for the ingest sink."""

    def __init__(
        self,
        *,
        policy: AlertPolicy = AlertPolicy(),
        detectors: Sequence[StreamingDetector] | None = None,
        context_ttl_s: float = 60.0,
    ) -> None:
        self.policy = policy
        self.detectors = tuple(detectors) if detectors is not None else streaming_detectors()
        self._by_kind = {d.kind: d for d in self.detectors}
        self.contexts = ContextCache(context_ttl_s)
        self.last_changes: list[AlertChange] = []

    def _decode(self, device_id: str, text: Any) -> dict[str, Any]:
        states: dict[str, Any] = {}
        try:
            doc = orjson.loads(text) if text is not None else None
        except orjson.JSONDecodeError as exc:  # jsonb is valid JSON; this is a safety net
            log.warning("device %s: state unreadable (%s); detectors restart", device_id, exc)
            return states
        if not isinstance(doc, dict):
            return states
        for kind, data in doc.items():
            det = self._by_kind.get(kind)
            if det is None:
                continue
            try:
                states[kind] = decode_state(det.state_type, data)
            except StateDecodeError as exc:
                # A state written by an older version: start that detector afresh.
                log.warning("device %s: %s; detector restarts from warm-up", device_id, exc)
        return states

    def __call__(self, conn: Conn, readings: Sequence[Reading]) -> None:
        self.last_changes = []
        if not readings:
            return
        by_dev: dict[str, list[Reading]] = defaultdict(list)
        for r in readings:
            by_dev[r.device_id].append(r)
        ids = sorted(by_dev)
        conn.execute(query("alerts", "state_ensure"), {"device_ids": ids})
        stored = {
            str(d): s for d, s in conn.execute(query("alerts", "state_lock"), {"device_ids": ids})
        }
        contexts = self.contexts.get(conn, ids)
        signals: list[Signal] = []
        rows: list[tuple[str, str]] = []
        for device_id in ids:
            states = self._decode(device_id, stored.get(device_id))
            states, sigs = step_device(
                self.detectors, states, by_dev[device_id], contexts[device_id]
            )
            signals.extend(sigs)
            doc = {k: encode_state(v) for k, v in states.items()}
            rows.append((device_id, dumps(doc)))
        conn.execute(
            query("alerts", "state_save"),
            {"device_ids": [r[0] for r in rows], "states": [r[1] for r in rows]},
        )
        if signals:
            self.last_changes = apply_signals(conn, signals, self.policy)


def commit_hook(settings: Settings) -> StreamingHook:
    """Factory named by ``ASSETWATCH_INGEST_COMMIT_HOOK=alerts.streaming:commit_hook``."""
    return StreamingHook(policy=policy_from(settings))
