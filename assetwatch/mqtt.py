"""One reading of ``ASSETWATCH_MQTT_URL`` for every MQTT client in the product.

``mqtt://user:pass@host:port`` is plain TCP (default port 1883); ``mqtts://``
is TLS (default port 8883), verified against ``settings.mqtt_ca_file`` (or the
system trust store when unset), with an optional client certificate
(``mqtt_cert_file`` / ``mqtt_key_file``) for brokers that require one.
Credentials may be percent-encoded in the URL (``p%40ss`` for ``p@ss``).

Both client libraries in use take the same :class:`ssl.SSLContext`:

>>> target = parse_mqtt_url("mqtts://svc%40ingest:s3cret@broker.example:8883")
>>> (target.host, target.port, target.tls, target.username)
('broker.example', 8883, True, 'svc@ingest')

paho::

    client = paho.mqtt.client.Client(CallbackAPIVersion.VERSION2, client_id=...)
    configure_paho(client, target, settings)
    client.connect(target.host, target.port)

aiomqtt::

    async with aiomqtt.Client(**aiomqtt_options(target, settings), identifier=...) as c: ...
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from assetwatch.errors import MqttUrlError

if TYPE_CHECKING:
    import paho.mqtt.client as paho

    from assetwatch.settings import Settings

_PLAIN = {"mqtt": False, "tcp": False, "mqtts": True, "ssl": True}
DEFAULT_PORTS = {False: 1883, True: 8883}


@dataclass(frozen=True, slots=True)
class MqttTarget:
    """Where and how to reach the broker (parsed once from the URL)."""

    host: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = None

    def url(self, *, with_password: bool = False) -> str:
        """The URL back, with the password masked unless asked for (safe to log)."""
        scheme = "mqtts" if self.tls else "mqtt"
        auth = ""
        if self.username is not None:
            auth = self.username
            if self.password is not None:
                auth += ":" + (self.password if with_password else "***")
            auth += "@"
        return f"{scheme}://{auth}{self.host}:{self.port}"


def parse_mqtt_url(url: str) -> MqttTarget:
    """Parse ``mqtt[s]://[user[:pass]@]host[:port]``; a bad URL raises :class:`MqttUrlError`."""
    if not url or not url.strip():
        raise MqttUrlError("MQTT URL is empty (expected mqtt://host:port or mqtts://host:port)")
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in _PLAIN:
        raise MqttUrlError(
            f"MQTT URL scheme {parts.scheme!r} is not supported (use mqtt:// or mqtts://)"
        )
    tls = _PLAIN[scheme]
    try:
        port = parts.port
    except ValueError as exc:
        raise MqttUrlError(f"MQTT URL port is not a number between 0 and 65535: {exc}") from exc
    host = parts.hostname
    if not host:
        raise MqttUrlError("MQTT URL has no host (expected mqtt://host:port)")
    if parts.path not in ("", "/") or parts.query:
        raise MqttUrlError("MQTT URL must not have a path or query (the topic is not part of it)")
    return MqttTarget(
        host=host,
        port=port or DEFAULT_PORTS[tls],
        tls=tls,
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


def target_from_settings(settings: Settings) -> MqttTarget:
    """The broker named by ``settings.mqtt_url`` (which must be set by now)."""
    if settings.mqtt_url is None:
        raise MqttUrlError("ASSETWATCH_MQTT_URL is not set")
    return parse_mqtt_url(settings.mqtt_url)


def tls_context(target: MqttTarget, settings: Settings) -> ssl.SSLContext | None:
    """The verified TLS context for ``mqtts://`` (None for plain ``mqtt://``).

    Hostname checking stays on: the broker certificate must name the host in
    the URL. A missing or unreadable file is reported by setting name.
    """
    if not target.tls:
        return None
    ca = settings.mqtt_ca_file
    try:
        ctx = ssl.create_default_context(cafile=str(ca) if ca else None)
    except (OSError, ssl.SSLError) as exc:
        raise MqttUrlError(f"ASSETWATCH_MQTT_CA_FILE {ca} cannot be used: {exc}") from exc
    cert, key = settings.mqtt_cert_file, settings.mqtt_key_file
    if (cert is None) != (key is None):
        raise MqttUrlError(
            "ASSETWATCH_MQTT_CERT_FILE and ASSETWATCH_MQTT_KEY_FILE must be set together"
        )
    if cert is not None and key is not None:
        try:
            ctx.load_cert_chain(str(cert), str(key))
        except (OSError, ssl.SSLError) as exc:
            raise MqttUrlError(
                f"client certificate {cert} / key {key} cannot be used: {exc}"
            ) from exc
    return ctx


def configure_paho(client: paho.Client, target: MqttTarget, settings: Settings) -> None:
    """Apply credentials and TLS from ``target``/``settings`` to a paho client (before connect)."""
    if target.username is not None:
        client.username_pw_set(target.username, target.password)
    ctx = tls_context(target, settings)
    if ctx is not None:
        client.tls_set_context(ctx)


def aiomqtt_options(target: MqttTarget, settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``aiomqtt.Client``: host, port, credentials and TLS context."""
    return {
        "hostname": target.host,
        "port": target.port,
        "username": target.username,
        "password": target.password,
        "tls_context": tls_context(target, settings),
    }
