"""Provenance reports (credit staff): create for an asset, fetch as JSON or HTML, verify.

:mod:`collateral.provenance` builds, renders and verifies a report; the
gateway stores each report as issued so it can be fetched, printed and
checked again later against its digests.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse
from psycopg.types.json import Jsonb
from pydantic import BaseModel, Field

from collateral.provenance import build_report, render_html, verify_report
from gateway.deps import ConnDep, Credit
from gateway.errors import BadRequest, NotFound
from gateway.pagination import Page, PageDep, make_page
from gateway.rows import fetch_all, fetch_one
from gateway.schemas import Id

router = APIRouter(prefix="/api/provenance", tags=["provenance"])

ReportId = Annotated[str, Path(pattern=r"^PR-[0-9a-f]{16}$", description="report id")]


class ReportIn(BaseModel):
    asset_id: Id
    days: Annotated[int, Field(ge=1, le=3660)] = 180
    end: datetime | None = Field(default=None, description="end of the period (default now)")


class ReportOut(BaseModel):
    id: str
    asset_id: str
    created_at: datetime
    created_by: str
    digest: str
    report: dict[str, Any] | None = None


def _out(row: dict[str, Any]) -> dict[str, Any]:
    row["digest"] = row.pop("report_sha256")
    return row


@router.post("", response_model=ReportOut, status_code=201)
def create_report(conn: ConnDep, user: Credit, body: ReportIn) -> dict[str, Any]:
    """Build and keep a provenance report for an asset over the last ``days``."""
    if body.end is not None and body.end.tzinfo is None:
        raise BadRequest("end needs a time zone offset (e.g. 2026-03-02T08:00:00Z)")
    report = build_report(conn, body.asset_id, days=body.days, end=body.end)
    row = fetch_one(
        conn,
        "report_insert",
        {
            "id": f"PR-{secrets.token_hex(8)}",
            "asset_id": body.asset_id,
            "created_by": user.name,
            "sha": report["evidence"]["report_sha256"],
            "report": Jsonb(report),
        },
    )
    assert row is not None
    return {**_out(row), "report": report}


@router.get("", response_model=Page[ReportOut])
def list_reports(
    conn: ConnDep,
    user: Credit,
    page: PageDep,
    asset_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[Any]:
    """Reports issued, newest first (without their bodies)."""
    rows = fetch_all(
        conn,
        "reports_page",
        {"asset_id": asset_id, "limit": page.limit + 1, "offset": page.offset},
    )
    return make_page([_out(r) for r in rows], page)


def _stored(conn: ConnDep, report_id: str) -> dict[str, Any]:
    row = fetch_one(conn, "report_get", {"id": report_id})
    if row is None:
        raise NotFound(f"no provenance report {report_id!r}")
    return row


@router.get("/{report_id}", response_model=ReportOut)
def get_report(conn: ConnDep, user: Credit, report_id: ReportId) -> dict[str, Any]:
    """A report as issued (JSON), with its digest."""
    return _out(_stored(conn, report_id))


@router.get("/{report_id}/html", response_class=HTMLResponse)
def get_report_html(conn: ConnDep, user: Credit, report_id: ReportId) -> HTMLResponse:
    """A report as printable HTML (self-contained: no external assets)."""
    return HTMLResponse(render_html(_stored(conn, report_id)["report"]))


@router.get("/{report_id}/verify")
def verify_stored(conn: ConnDep, user: Credit, report_id: ReportId) -> dict[str, Any]:
    """Check a stored report against its digest and the readings as they are now."""
    return verify_report(conn, _stored(conn, report_id)["report"]).as_dict()


@router.post("/verify")
def verify_document(conn: ConnDep, user: Credit, report: dict[str, Any]) -> dict[str, Any]:
    """Check a report document someone holds (e.g. attached to a loan file)."""
    return verify_report(conn, report).as_dict()
