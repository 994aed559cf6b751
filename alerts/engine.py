"""Turning detector signals into alerts: one open alert per (asset, kind).

Rules (see docs/alerts.md):

- an active signal with no open alert raises one, unless the last alert of that
  (asset, kind) was closed less than ``cooldown`` ago (measured in the signal's
  event time) — after a cooldown a persisting or returning condition is raised
  again, also after a manual resolve;
- an active signal on an open alert updates ``last_seen`` and ``evidence``;
  the level only goes up while the alert is open (escalation; ``peak_level``
  keeps the highest); if the condition had ended, it is a recurrence
  (``count`` + 1);
- an inactive signal marks the condition ended; :func:`clear_due` resolves
  alerts whose condition has been over for ``clear_after`` (``cleared_at``).

Every change is one ``alert_events`` row (the feed) and one audit-chain entry,
written in the caller's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from psycopg.types.json import Jsonb

from alerts.detectors.base import Level, Signal
from collateral.audit import AuditEntry, append_many
from telemetry.db import Conn
from telemetry.sqlfiles import query

ACTOR = "alerts"


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    """When a finished condition clears and how soon a returning one is raised again."""

    clear_after: timedelta = timedelta(minutes=30)
    cooldown: timedelta = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class AlertChange:
    """One change written to ``alert_events`` (and the audit chain)."""

    event_id: int
    alert_id: int
    event: str
    asset_id: str
    kind: str
    level: str
    event_ts: datetime


def _json_default(o: Any) -> Any:
    if isinstance(o, datetime):
        return o.isoformat()
    if isinstance(o, Level):
        return o.label
    return str(o)


def _jsonb(doc: Any) -> Jsonb:
    return Jsonb(doc, dumps=lambda x: json.dumps(x, default=_json_default))


def record_event(
    conn: Conn,
    changes: list[AlertChange],
    *,
    alert_id: int,
    event: str,
    ts: datetime,
    asset_id: str,
    kind: str,
    level: str,
    status: str,
    payload: dict[str, Any],
) -> None:
    # Serialise feed writers so alert_events ids commit in order (see migration 0300).
    conn.execute(query("alerts", "lock_feed"))
    row = conn.execute(
        query("alerts", "insert_event"),
        {
            "alert_id": alert_id,
            "event": event,
            "event_ts": ts,
            "asset_id": asset_id,
            "kind": kind,
            "level": level,
            "status": status,
            "payload": _jsonb(payload),
        },
    ).fetchone()
    assert row is not None
    changes.append(AlertChange(int(row[0]), alert_id, event, asset_id, kind, level, ts))


def audit_changes(conn: Conn, changes: Sequence[AlertChange], actor: str = ACTOR) -> None:
    if not changes:
        return
    append_many(
        conn,
        [
            AuditEntry(
                actor,
                f"alert.{c.event}",
                "alert",
                str(c.alert_id),
                {
                    "asset_id": c.asset_id,
                    "kind": c.kind,
                    "level": c.level,
                    "event_ts": c.event_ts,
                    "event_id": c.event_id,
                },
            )
            for c in changes
        ],
    )


def apply_signals(conn: Conn, signals: Sequence[Signal], policy: AlertPolicy) -> list[AlertChange]:
    """Apply signals (in event-time order) inside the caller's transaction."""
    changes: list[AlertChange] = []
    for sig in sorted(signals, key=lambda s: s.ts):
        _apply(conn, sig, policy, changes)
    audit_changes(conn, changes)
    return changes


def _apply(conn: Conn, sig: Signal, policy: AlertPolicy, changes: list[AlertChange]) -> None:
    asset_id = sig.asset_id or sig.device_id
    key = {"asset_id": asset_id, "kind": sig.kind}
    conn.execute(query("alerts", "lock_asset_kind"), key)
    row = conn.execute(query("alerts", "open_alert_for_update"), key).fetchone()
    evidence = {
        "signal_ts": sig.ts,
        "since": sig.since,
        "magnitude": sig.magnitude,
        "device_id": sig.device_id,
        **sig.evidence,
    }
    if not sig.active:
        # Only the terminal that holds the condition can end it: a second
        # terminal on the same asset that is fine does not clear the first's.
        holder = row[7] if row is not None else None
        if (
            row is not None
            and row[5] is None
            and (not sig.device_id or holder in (None, sig.device_id))
        ):
            conn.execute(query("alerts", "update_alert_ended"), {"id": row[0], "ts": sig.ts})
            record_event(
                conn,
                changes,
                alert_id=int(row[0]),
                event="condition_ended",
                ts=sig.ts,
                asset_id=asset_id,
                kind=sig.kind,
                level=str(row[1]),
                status=str(row[3]),
                payload={"evidence": evidence},
            )
        return
    if row is None:
        last = conn.execute(query("alerts", "last_closed_alert"), key).fetchone()
        if last is not None and last[1] is not None and sig.ts - last[1] < policy.cooldown:
            return  # cooling down after a clear or a manual resolve
        new = conn.execute(
            query("alerts", "insert_alert"),
            {
                **key,
                "device_id": sig.device_id or None,
                "level": sig.level.label,
                "ts": sig.ts,
                "since": sig.since,
                "evidence": _jsonb(evidence),
            },
        ).fetchone()
        assert new is not None
        record_event(
            conn,
            changes,
            alert_id=int(new[0]),
            event="raised",
            ts=sig.ts,
            asset_id=asset_id,
            kind=sig.kind,
            level=sig.level.label,
            status="open",
            payload={"evidence": evidence, "since": sig.since},
        )
        return
    alert_id, level_s, peak_s, status = int(row[0]), str(row[1]), str(row[2]), str(row[3])
    old = Level.parse(level_s)
    level = max(old, sig.level)
    peak = max(Level.parse(peak_s), level)
    recur = row[5] is not None
    conn.execute(
        query("alerts", "update_alert_active"),
        {
            "id": alert_id,
            "level": level.label,
            "peak_level": peak.label,
            "ts": sig.ts,
            "recur": 1 if recur else 0,
            "device_id": sig.device_id or None,
            "evidence": _jsonb(evidence),
        },
    )
    if recur:
        record_event(
            conn,
            changes,
            alert_id=alert_id,
            event="recurred",
            ts=sig.ts,
            asset_id=asset_id,
            kind=sig.kind,
            level=level.label,
            status=status,
            payload={"evidence": evidence},
        )
    if level > old:
        record_event(
            conn,
            changes,
            alert_id=alert_id,
            event="escalated",
            ts=sig.ts,
            asset_id=asset_id,
            kind=sig.kind,
            level=level.label,
            status=status,
            payload={"from": old.label, "evidence": evidence},
        )


def clear_due(conn: Conn, now: datetime, policy: AlertPolicy) -> list[AlertChange]:
    """Resolve alerts whose condition ended at least ``clear_after`` before ``now``."""
    changes: list[AlertChange] = []
    rows = conn.execute(
        query("alerts", "clear_due"), {"now": now, "before": now - policy.clear_after}
    ).fetchall()
    for alert_id, asset_id, kind, level in rows:
        record_event(
            conn,
            changes,
            alert_id=int(alert_id),
            event="cleared",
            ts=now,
            asset_id=str(asset_id),
            kind=str(kind),
            level=str(level),
            status="resolved",
            payload={"clear_after_s": policy.clear_after.total_seconds()},
        )
    audit_changes(conn, changes)
    return changes
