"""Alerts: list and filter, detail with evidence, and triage (acknowledge, assign, resolve).

Lifecycle changes go through :mod:`alerts.lifecycle`, which records the
feed event and the audit entry; the gateway only reads the tables.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from alerts import lifecycle
from gateway.deps import ConnDep, PostLoan
from gateway.errors import NotFound
from gateway.pagination import Page, PageDep, make_page
from gateway.rows import fetch_all, fetch_one
from gateway.schemas import AcknowledgeIn, AssignIn, ResolveIn, RowId

router = APIRouter(prefix="/api/alerts", tags=["alerts"])

Level = Literal["red", "orange", "yellow", "watch"]
Filter = Annotated[str | None, Query(max_length=100)]
STATUS_SETS: dict[str, list[str] | None] = {
    "open": ["open"],
    "acknowledged": ["acknowledged"],
    "resolved": ["resolved"],
    "active": ["open", "acknowledged"],
    "all": None,
}


@router.get("", response_model=Page[dict[str, Any]])
def list_alerts(
    conn: ConnDep,
    user: PostLoan,
    page: PageDep,
    level: Annotated[list[Level] | None, Query(description="repeat for several")] = None,
    status: Literal["open", "acknowledged", "resolved", "active", "all"] = "active",
    kind: Filter = None,
    asset_id: Filter = None,
    borrower_id: Filter = None,
    region: Filter = None,
    industry: Filter = None,
    officer: Filter = None,
    assignee: Filter = None,
    since: Annotated[datetime | None, Query(description="last seen at or after")] = None,
    until: Annotated[datetime | None, Query(description="first seen before")] = None,
) -> Page[Any]:
    """Alerts, newest activity first; ``status=active`` (default) means open or acknowledged."""
    rows = fetch_all(
        conn,
        "alerts_page",
        {
            "level": level,
            "statuses": STATUS_SETS[status],
            "kind": kind,
            "asset_id": asset_id,
            "borrower_id": borrower_id,
            "region": region,
            "industry": industry,
            "officer": officer,
            "assignee": assignee,
            "since": since,
            "until": until,
            "limit": page.limit + 1,
            "offset": page.offset,
        },
    )
    return make_page(rows, page)


@router.get("/{alert_id}")
def get_alert(conn: ConnDep, user: PostLoan, alert_id: RowId) -> dict[str, Any]:
    """One alert with its evidence, its event history and the loans its asset is pledged to."""
    row = fetch_one(conn, "alert_get", {"id": alert_id})
    if row is None:
        raise NotFound(f"no alert {alert_id}")
    row["history"] = fetch_all(conn, "alert_history", {"id": alert_id})
    row["pledged_to"] = fetch_all(conn, "alert_pledges", {"asset_id": row["asset_id"]})
    return row


def _after(conn: ConnDep, alert_id: int) -> dict[str, Any]:
    row = fetch_one(conn, "alert_get", {"id": alert_id})
    if row is None:
        raise NotFound(f"no alert {alert_id}")
    return row


@router.post("/{alert_id}/acknowledge")
def acknowledge(
    conn: ConnDep, user: PostLoan, alert_id: RowId, body: AcknowledgeIn | None = None
) -> dict[str, Any]:
    """Mark an open alert as seen by a person (409 if it is not open)."""
    note = body.note if body else None
    assignee = body.assignee if body else None
    lifecycle.acknowledge(conn, alert_id, actor=user.name, note=note, assignee=assignee)
    return _after(conn, alert_id)


@router.post("/{alert_id}/assign")
def assign(conn: ConnDep, user: PostLoan, alert_id: RowId, body: AssignIn) -> dict[str, Any]:
    """Give an alert to someone to investigate; assigning an open alert acknowledges it."""
    if _after(conn, alert_id)["status"] == "open":
        lifecycle.acknowledge(conn, alert_id, actor=user.name, assignee=body.assignee)
    else:
        lifecycle.assign(conn, alert_id, actor=user.name, assignee=body.assignee)
    return _after(conn, alert_id)


@router.post("/{alert_id}/resolve")
def resolve(conn: ConnDep, user: PostLoan, alert_id: RowId, body: ResolveIn) -> dict[str, Any]:
    """Close an alert with an outcome (confirmed, false_alarm, explained) and a note."""
    lifecycle.resolve(
        conn,
        alert_id,
        actor=user.name,
        outcome=body.outcome,
        note=body.note,
        assignee=body.assignee,
    )
    return _after(conn, alert_id)
