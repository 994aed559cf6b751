"""The one exception root of the ``assetwatch`` package (runner, demo, broker security)."""

from __future__ import annotations


class AssetwatchError(Exception):
    """Base of every error raised by ``assetwatch.*`` modules."""


class MqttUrlError(AssetwatchError, ValueError):
    """An ``ASSETWATCH_MQTT_URL`` (or TLS file setting) that cannot be used, with the reason."""


class BrokerAuthError(AssetwatchError):
    """Broker credentials or ACLs cannot be generated from the registry, with the reason."""


class RunError(AssetwatchError):
    """A role of ``assetwatch run`` / ``demo`` cannot start, with the reason."""
