"""One router per resource; :data:`ROUTERS` is the order the app includes them in."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.routers import registry, terminals
from gateway.routers.alerts import router as alerts_router
from gateway.routers.audit import router as audit_router
from gateway.routers.dashboard import router as dashboard_router
from gateway.routers.feed import router as feed_router
from gateway.routers.keys import router as keys_router
from gateway.routers.portfolio import router as portfolio_router
from gateway.routers.provenance import router as provenance_router
from gateway.routers.rejects import router as rejects_router
from gateway.routers.telemetry import router as telemetry_router
from gateway.routers.webhooks import router as webhooks_router
from gateway.routers.zones import router as zones_router

ROUTERS: tuple[APIRouter, ...] = (
    keys_router,
    registry.borrowers,
    registry.loans,
    registry.assets,
    terminals.terminals,
    terminals.bindings,
    registry.pledges,
    zones_router,
    telemetry_router,
    alerts_router,
    feed_router,
    webhooks_router,
    provenance_router,
    portfolio_router,
    audit_router,
    rejects_router,
    dashboard_router,
)

__all__ = ["ROUTERS"]
