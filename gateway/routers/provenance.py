"""Provenance reports (credit staff): create for an asset, fetch as JSON or HTML, verify."""

from __future__ import annotations

import dataclasses
import importlib
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from gateway.deps import ConnDep, Credit
from gateway.errors import Unavailable
from gateway.schemas import Id

router = APIRouter(prefix="/api/provenance", tags=["provenance"])


def _fn(name: str) -> Any:
    try:
        return getattr(importlib.import_module("collateral.provenance"), name)
    except (ImportError, AttributeError) as exc:
        raise Unavailable(
            f"provenance is not available yet (collateral.provenance.{name})"
        ) from exc


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if hasattr(value, "as_dict"):
        return value.as_dict()
    return value


@router.get("/{report_id}")
def get_report(conn: ConnDep, user: Credit, report_id: Annotated[str, Query()] | str) -> Any:
    """A stored report as JSON."""
    return _plain(_fn("get_report")(conn, report_id))


@router.get("/{report_id}/html", response_class=HTMLResponse)
def get_report_html(conn: ConnDep, user: Credit, report_id: str) -> HTMLResponse:
    """A stored report as printable HTML."""
    return HTMLResponse(_fn("render_html")(_fn("get_report")(conn, report_id)))


__all__ = ["Id", "router"]
