"""The gateway: HTTP API, live alert feed, webhooks and dashboard (FastAPI).

``create_app(settings)`` builds the app (its lifespan opens one connection
pool and starts the webhook dispatcher); ``serve(settings)`` runs it with
uvicorn; ``start_in_thread(settings)`` runs it in the background and returns
its URL. See docs/api.md and docs/dashboard.md.
"""

from __future__ import annotations

from gateway.app import RunningGateway, create_app, serve, start_in_thread
from gateway.errors import GatewayError

__all__ = ["GatewayError", "RunningGateway", "create_app", "serve", "start_in_thread"]
