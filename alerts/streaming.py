"""The ingest commit hook: streaming detectors stepped inside the write transaction.

For each batch the hook locks the batch's devices' rows in ``detector_state``
(``SELECT ... FOR UPDATE`` in device order, so two ingest workers sharing a
subscription serialise per device and never deadlock), reads the states it does
not hold in memory at the stored version, steps every streaming detector over
each device's new readings in event-time order, writes the resulting alerts,
and saves the states back with a new version token (one UPDATE over two
arrays) — all in the ingest's transaction. A rollback discards readings, states and alerts
together; a restart neither loses nor repeats an alert.

Use it from ingest with ``ASSETWATCH_INGEST_COMMIT_HOOK=alerts.streaming:commit_hook``.
"""

from __future__ import annotations

import itertools
import logging
import secrets
from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import orjson

from alerts.context import ContextCache
from alerts.detectors.base import DeviceContext, Signal
from alerts.detectors.registry import StreamingDetector, streaming_detectors
from alerts.detectors.state_codec import decode_state, dumps_states
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

    Each detector takes the device's whole batch in one ``step_batch`` call
    (its state in local variables, one new frozen state at the end), with the
    readings' event times computed once for all detectors; the states passed
    in are not mutated.
    """
    out = dict(states)
    signals: list[Signal] = []
    ordered = sorted(readings, key=_ts) if len(readings) > 1 else readings
    ts = [r.ts.timestamp() for r in ordered]
    for det in detectors:
        st = out.get(det.kind)
        st, sigs = det.step_batch(det.initial() if st is None else st, ordered, ts, ctx)
        if sigs:
            signals.extend(sigs)
        out[det.kind] = st
    return out, signals


def _ts(r: Reading) -> Any:
    return r.ts


class StreamingHook:
    """Callable commit hook ``(conn, readings) -> None`` for the ingest sink.

    It keeps the states it saved in memory, each with the version token it
    wrote, for up to ``state_cache_devices`` devices (least recently stepped
    ones dropped first). A device's row is re-read only when its stored token
    differs — another writer, or this process's own batch rolled back — so the
    checkpoint in the database stays the truth and the memory a shortcut.
    """

    def __init__(
        self,
        *,
        policy: AlertPolicy = AlertPolicy(),
        detectors: Sequence[StreamingDetector] | None = None,
        context_ttl_s: float = 60.0,
        state_cache_devices: int = 20_000,
    ) -> None:
        self.policy = policy
        self.detectors = tuple(detectors) if detectors is not None else streaming_detectors()
        self._by_kind = {d.kind: d for d in self.detectors}
        self.contexts = ContextCache(context_ttl_s)
        self.state_cache_devices = state_cache_devices
        self._states: dict[str, tuple[int, dict[str, Any]]] = {}
        self.last_changes: list[AlertChange] = []
        #: Rows read from the database (cache misses), for tests and metrics.
        self.state_reads = 0

    def _decode(self, device_id: str, text: Any) -> dict[str, Any]:
        states: dict[str, Any] = {}
        try:
            doc = orjson.loads(text) if text is not None else None
        except orjson.JSONDecodeError as exc:
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

    def _load(self, conn: Conn, ids: list[str]) -> dict[str, dict[str, Any]]:
        """Lock the devices' rows (in device order) and return their states."""
        lock = query("alerts", "state_lock")
        versions = {str(d): int(v) for d, v in conn.execute(lock, {"device_ids": ids})}
        if len(versions) < len(ids):
            new = [d for d in ids if d not in versions]
            conn.execute(query("alerts", "state_ensure"), {"device_ids": new})
            # A concurrent writer may have inserted some first: lock and read them too.
            for d, v in conn.execute(lock, {"device_ids": new}):
                versions[str(d)] = int(v)
        out: dict[str, dict[str, Any]] = {}
        stale: list[str] = []
        cache = self._states
        for d in ids:
            hit = cache.get(d)
            if hit is not None and hit[0] == versions.get(d):
                out[d] = hit[1]
            else:
                stale.append(d)
        if stale:
            self.state_reads += len(stale)
            for d, text in conn.execute(query("alerts", "state_read"), {"device_ids": stale}):
                out[str(d)] = self._decode(str(d), text)
            for d in stale:
                out.setdefault(d, {})
        return out

    def _remember(self, ids: list[str], version: int, states: list[dict[str, Any]]) -> None:
        cache = self._states
        for d, st in zip(ids, states, strict=True):
            cache.pop(d, None)  # re-inserted at the end: the dict's order is recency
            cache[d] = (version, st)
        excess = len(cache) - self.state_cache_devices
        if excess > 0:
            for d in list(itertools.islice(cache, excess)):
                del cache[d]

    def __call__(self, conn: Conn, readings: Sequence[Reading]) -> None:
        self.last_changes = []
        if not readings:
            return
        by_dev: dict[str, list[Reading]] = defaultdict(list)
        for r in readings:
            by_dev[r.device_id].append(r)
        ids = sorted(by_dev)
        stored = self._load(conn, ids)
        contexts = self.contexts.get(conn, ids)
        signals: list[Signal] = []
        new_states: list[dict[str, Any]] = []
        texts: list[str] = []
        for device_id in ids:
            states, sigs = step_device(
                self.detectors, stored[device_id], by_dev[device_id], contexts[device_id]
            )
            signals.extend(sigs)
            new_states.append(states)
            texts.append(dumps_states(states))
        # A token no other batch writes: a reader holding a different one re-reads.
        version = secrets.randbits(62) + 1
        conn.execute(
            query("alerts", "state_save"),
            {"device_ids": ids, "states": texts, "version": version},
        )
        self._remember(ids, version, new_states)
        if signals:
            self.last_changes = apply_signals(conn, signals, self.policy)


def commit_hook(settings: Settings) -> StreamingHook:
    """Factory named by ``ASSETWATCH_INGEST_COMMIT_HOOK=alerts.streaming:commit_hook``."""
    return StreamingHook(
        policy=policy_from(settings), state_cache_devices=settings.ingest_state_cache_devices
    )
