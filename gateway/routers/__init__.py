"""One router per resource; :data:`ROUTERS` is the order the app includes them in."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.routers import (
    alerts,
    audit,
    dashboard,
    feed,
    keys,
    portfolio,
    provenance,
    registry,
    rejects,
    telemetry,
    terminals,
    webhooks,
    zones,
)

ROUTERS: tuple[APIRouter, ...] = (
    keys.router,
    registry.borrowers,
    registry.loans,
    registry.assets,
    terminals.terminals,
    terminals.bindings,
    registry.pledges,
    zones.router,
    telemetry.router,
    alerts.router,
    feed.router,
    webhooks.router,
    provenance.router,
    portfolio.router,
    audit.router,
    rejects.router,
    dashboard.router,
)

__all__ = ["ROUTERS"]
