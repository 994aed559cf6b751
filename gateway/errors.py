"""Exception root of the gateway; the only package that turns errors into HTTP responses."""

from __future__ import annotations


class GatewayError(Exception):
    """Root of every error raised by :mod:`gateway`; ``status`` is the HTTP status it maps to."""

    status: int = 400

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class BadRequest(GatewayError):
    """The request is well formed but names something impossible (the message says what)."""

    status = 400


class Unauthorized(GatewayError):
    """No API key, or one that is unknown or revoked."""

    status = 401


class Forbidden(GatewayError):
    """The key is valid but its role may not use this endpoint."""

    status = 403


class NotFound(GatewayError):
    """The named object does not exist."""

    status = 404


class Conflict(GatewayError):
    """The request contradicts the current state (duplicate id, wrong lifecycle step)."""

    status = 409


class Unavailable(GatewayError):
    """A part the endpoint needs (database table, other package) is not there yet."""

    status = 503
