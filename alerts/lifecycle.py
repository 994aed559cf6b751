"""Manual triage: open → acknowledged → resolved, with outcome, note and assignee.

Each call runs in the caller's transaction, writes one ``alert_events`` row and
one audit-chain entry (actor = the user), and refuses transitions the status
does not allow. Resolving while the condition persists is allowed; the engine
raises the alert again once the cooldown has passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from alerts.engine import AlertChange, audit_changes, record_event
from alerts.errors import AlertNotFound, InvalidTransition
from telemetry.db import Conn
from telemetry.sqlfiles import query

OUTCOMES: Final = ("confirmed", "false_alarm", "explained")


@dataclass(frozen=True, slots=True)
class KindOutcomes:
    """Triage outcomes of one detector kind (the false-alarm figures)."""

    kind: str
    alerts: int
    confirmed: int
    false_alarm: int
    explained: int

    @property
    def false_alarm_rate(self) -> float | None:
        judged = self.confirmed + self.false_alarm + self.explained
        return self.false_alarm / judged if judged else None


def _locked(conn: Conn, alert_id: int) -> tuple[str, str, str, str]:
    row = conn.execute(query("alerts", "get_alert_for_update"), {"id": alert_id}).fetchone()
    if row is None:
        raise AlertNotFound(f"no alert with id {alert_id}")
    return str(row[1]), str(row[2]), str(row[3]), str(row[4])


def acknowledge(
    conn: Conn,
    alert_id: int,
    *,
    actor: str,
    assignee: str | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> AlertChange:
    """An officer takes the alert (open → acknowledged)."""
    asset_id, kind, level, status = _locked(conn, alert_id)
    if status != "open":
        raise InvalidTransition(
            f"alert {alert_id} is {status}; only open alerts can be acknowledged"
        )
    when = now or datetime.now(UTC)
    conn.execute(
        query("alerts", "acknowledge_alert"),
        {"id": alert_id, "now": when, "assignee": assignee, "note": note},
    )
    changes: list[AlertChange] = []
    record_event(
        conn,
        changes,
        alert_id=alert_id,
        event="acknowledged",
        ts=when,
        asset_id=asset_id,
        kind=kind,
        level=level,
        status="acknowledged",
        payload={"actor": actor, "assignee": assignee, "note": note},
    )
    audit_changes(conn, changes, actor)
    return changes[0]


def resolve(
    conn: Conn,
    alert_id: int,
    *,
    actor: str,
    outcome: str,
    note: str | None = None,
    assignee: str | None = None,
    now: datetime | None = None,
) -> AlertChange:
    """Close the alert with an outcome (open or acknowledged → resolved).

    An alert the engine already cleared can still receive its outcome (the
    event is then ``resolved`` with the outcome only).
    """
    if outcome not in OUTCOMES:
        raise InvalidTransition(f"outcome {outcome!r} is not one of {', '.join(OUTCOMES)}")
    asset_id, kind, level, status = _locked(conn, alert_id)
    when = now or datetime.now(UTC)
    params: dict[str, Any] = {
        "id": alert_id,
        "now": when,
        "actor": actor,
        "outcome": outcome,
        "note": note,
        "assignee": assignee,
    }
    if status == "resolved":
        conn.execute(query("alerts", "set_outcome"), params)
    else:
        conn.execute(query("alerts", "resolve_alert"), params)
    changes: list[AlertChange] = []
    record_event(
        conn,
        changes,
        alert_id=alert_id,
        event="resolved",
        ts=when,
        asset_id=asset_id,
        kind=kind,
        level=level,
        status="resolved",
        payload={"actor": actor, "outcome": outcome, "note": note, "assignee": assignee},
    )
    audit_changes(conn, changes, actor)
    return changes[0]


def assign(
    conn: Conn,
    alert_id: int,
    *,
    actor: str,
    assignee: str,
    note: str | None = None,
    now: datetime | None = None,
) -> AlertChange:
    """Give the alert to someone (any status; an open alert is acknowledged by the gateway)."""
    asset_id, kind, level, status = _locked(conn, alert_id)
    when = now or datetime.now(UTC)
    conn.execute(
        query("alerts", "assign_alert"), {"id": alert_id, "assignee": assignee, "note": note}
    )
    changes: list[AlertChange] = []
    record_event(conn, changes, alert_id=alert_id, event="assigned", ts=when, asset_id=asset_id,
                 kind=kind, level=level, status=status,
                 payload={"actor": actor, "assignee": assignee, "note": note})  # fmt: skip
    audit_changes(conn, changes, actor)
    return changes[0]


def outcomes_by_kind(conn: Conn) -> list[KindOutcomes]:
    """Per detector kind: alerts and their triage outcomes (false alarms among them)."""
    return [
        KindOutcomes(str(k), int(a), int(c), int(f), int(e))
        for k, a, c, f, e in conn.execute(query("alerts", "outcomes_by_kind"))
    ]
