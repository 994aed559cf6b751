"""Dead letters and quarantined readings: list, inspect, release (admin, provisioner)."""

from __future__ import annotations

import base64
import dataclasses
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Query

from gateway.deps import ConnDep, Operator, SettingsDep
from gateway.errors import NotFound
from gateway.pagination import Page, PageDep, make_page
from gateway.rows import fetch_all, fetch_one
from gateway.schemas import RowId

router = APIRouter(prefix="/api", tags=["rejects"])
log = logging.getLogger(__name__)

# Released readings feed the streaming detectors like live ones unless the
# settings name another hook ("" turns it off).
DEFAULT_HOOK = "alerts.streaming:commit_hook"


def payload_view(payload: bytes | None) -> dict[str, Any]:
    """A payload as text when it is UTF-8, else base64, with its size."""
    if payload is None:
        return {"payload_bytes": 0, "payload_text": None, "payload_base64": None}
    data = bytes(payload)
    try:
        text: str | None = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    return {
        "payload_bytes": len(data),
        "payload_text": text,
        "payload_base64": None if text is not None else base64.b64encode(data).decode(),
    }


@router.get("/dead-letters", response_model=Page[dict[str, Any]])
def list_dead_letters(
    conn: ConnDep,
    user: Operator,
    page: PageDep,
    stage: Annotated[str | None, Query(pattern="^(decode|validate|identify|write)$")] = None,
    device_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[Any]:
    """Rejected messages, newest first, with the stage and reason."""
    rows = fetch_all(
        conn,
        "dead_letters_page",
        {"stage": stage, "device_id": device_id, "limit": page.limit + 1, "offset": page.offset},
    )
    return make_page(rows, page)


@router.get("/dead-letters/{dead_letter_id}")
def get_dead_letter(conn: ConnDep, user: Operator, dead_letter_id: RowId) -> dict[str, Any]:
    """One rejected message with its payload."""
    row = fetch_one(conn, "dead_letter_get", {"id": dead_letter_id})
    if row is None:
        raise NotFound(f"no dead letter {dead_letter_id}")
    payload = row.pop("payload")
    return {**row, **payload_view(payload)}


@router.get("/quarantine", response_model=Page[dict[str, Any]])
def list_quarantine(
    conn: ConnDep,
    user: Operator,
    page: PageDep,
    pending: bool = True,
    identifier: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[Any]:
    """Readings from unregistered terminals, waiting for the terminal to be registered."""
    rows = fetch_all(
        conn,
        "quarantine_page",
        {
            "pending": pending,
            "identifier": identifier,
            "limit": page.limit + 1,
            "offset": page.offset,
        },
    )
    return make_page(rows, page)


@router.get("/quarantine/{quarantine_id}")
def get_quarantined(conn: ConnDep, user: Operator, quarantine_id: RowId) -> dict[str, Any]:
    """One quarantined message with its payload."""
    row = fetch_one(conn, "quarantine_get", {"id": quarantine_id})
    if row is None:
        raise NotFound(f"no quarantined message {quarantine_id}")
    payload = row.pop("payload")
    return {**row, **payload_view(payload)}


@router.post("/quarantine/release")
def release(settings: SettingsDep, user: Operator) -> dict[str, Any]:
    """Re-run quarantined messages whose terminal is now registered, through the same pipeline.

    Readings released feed the streaming detectors exactly as live ones do.
    Messages whose terminal is still unknown stay quarantined.
    """
    from ingest.quarantine import release as release_quarantine
    from ingest.service import load_commit_hook

    if settings.ingest_commit_hook is None:
        settings = settings.model_copy(update={"ingest_commit_hook": DEFAULT_HOOK})
    hook = load_commit_hook(settings)
    report = release_quarantine(settings, commit_hook=hook)
    log.info("quarantine release by %s: %d released", user.key_id, report.released)
    return dataclasses.asdict(report)
