"""Webhook subscriptions and their delivery log (admin only)."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter

from gateway.deps import AdminUser, ConnDep
from gateway.pagination import PageDep
from gateway.rows import fetch_all
from gateway.schemas import DeliveryOut, RowId, WebhookIn, WebhookOut
from gateway.webhooks import add_webhook, deactivate_webhook, list_webhooks

router = APIRouter(prefix="/api/webhooks", tags=["alerts"])


@router.get("", response_model=list[WebhookOut])
def get_webhooks(conn: ConnDep, user: AdminUser) -> list[dict[str, Any]]:
    """Every subscription (secrets are never returned)."""
    return [dataclasses.asdict(w) for w in list_webhooks(conn)]


@router.post("", response_model=WebhookOut, status_code=201)
def post_webhook(conn: ConnDep, user: AdminUser, body: WebhookIn) -> dict[str, Any]:
    """Subscribe a URL to alert events, signed with HMAC-SHA256 using ``secret``."""
    hook = add_webhook(conn, url=body.url, secret=body.secret, from_start=body.from_start)
    return dataclasses.asdict(hook)


@router.delete("/{webhook_id}", status_code=204)
def delete_webhook(conn: ConnDep, user: AdminUser, webhook_id: RowId) -> None:
    """Stop deliveries (the log is kept)."""
    deactivate_webhook(conn, webhook_id)


@router.get("/{webhook_id}/deliveries", response_model=list[DeliveryOut])
def deliveries(
    conn: ConnDep, user: AdminUser, webhook_id: RowId, page: PageDep
) -> list[dict[str, Any]]:
    """Delivery attempts, newest first."""
    return fetch_all(
        conn,
        "delivery_list",
        {"webhook_id": webhook_id, "limit": page.limit, "offset": page.offset},
    )
