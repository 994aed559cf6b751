"""Device security on the broker: per-terminal credentials and topic ACLs from the registry.

Each terminal logs in to the broker as its own ``device_id`` with a secret
generated at provisioning (:func:`provision_terminals`, printed once; only its
hash is kept, in ``terminals.secret_hash``). :func:`build_broker_files` turns
the ``terminals`` table into Mosquitto's password file and ACL file:

- a terminal may publish only under ``assetwatch/{its device_id}/#`` and may
  subscribe to nothing (one ``pattern write assetwatch/%u/#`` rule, no read);
- service accounts (``svc@ingest``, ``svc@detect``, ``svc@gateway``,
  ``svc@simulator``, ``svc@chirpstack``) get exactly the topics their role
  needs. ``@`` cannot appear in a device id, so no terminal can be named like
  a service account, and the device id ``alerts`` is reserved because
  ``assetwatch/alerts/#`` carries alert events;
- anonymous clients and unknown users are refused (``allow_anonymous false``).

``secret_hash`` uses Mosquitto 2's own ``$7$`` format (PBKDF2-HMAC-SHA512,
``$7$<iterations>$<base64 salt>$<base64 digest>``, what ``mosquitto_passwd``
writes), so the password file is generated from the registry without ever
storing a secret. The iteration count is Mosquitto's default (101): the
secrets are 192-bit random tokens, not human passwords, so stretching buys
nothing, while every (re)connect of 10,000 terminals pays it on the broker.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from assetwatch.errors import BrokerAuthError
from telemetry.db import Conn
from telemetry.sqlfiles import query

DEVICE_ID_RE: Final = re.compile(r"[A-Za-z0-9_.-]{1,64}")
HASH_RE: Final = re.compile(r"\$7\$(\d{1,7})\$([A-Za-z0-9+/=]{8,})\$([A-Za-z0-9+/=]{40,})")
RESERVED_DEVICE_IDS: Final = frozenset({"alerts"})
ITERATIONS: Final = 101

# Service account -> ACL lines (Mosquitto syntax). Shared subscriptions are
# listed with their ``$share/<group>/`` prefix as well because Mosquitto checks
# the subscription filter as the client sent it.
SERVICE_ACL: Final[Mapping[str, tuple[str, ...]]] = {
    "svc@ingest": (
        "topic read assetwatch/#",
        "topic read $share/+/assetwatch/#",
        "topic read application/+/device/+/event/up",
        "topic read $share/+/application/+/device/+/event/up",
    ),
    "svc@detect": ("topic write assetwatch/alerts/#",),
    "svc@gateway": ("topic read assetwatch/alerts/#",),
    "svc@simulator": ("topic write assetwatch/#", "topic write application/#"),
    "svc@chirpstack": ("topic write application/#",),
}


@dataclass(frozen=True, slots=True)
class TerminalCredential:
    """A terminal's broker login as the registry holds it (hash only)."""

    device_id: str
    secret_hash: str | None


@dataclass(frozen=True, slots=True)
class BrokerFiles:
    """What :func:`build_broker_files` produced, and what it had to leave out."""

    passwd: str
    acl: str
    terminals: int
    without_secret: tuple[str, ...]


def new_secret() -> str:
    """A fresh random terminal or service secret (192 bits, URL-safe)."""
    return secrets.token_urlsafe(24)


def hash_secret(secret: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """Mosquitto 2 ``$7$`` PBKDF2-SHA512 hash of ``secret`` (as ``mosquitto_passwd`` writes)."""
    if not secret:
        raise BrokerAuthError("a secret must not be empty")
    salt = salt if salt is not None else os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", secret.encode(), salt, iterations)
    b64 = base64.b64encode
    return f"$7${iterations}${b64(salt).decode()}${b64(digest).decode()}"


def verify_secret(secret: str, secret_hash: str) -> bool:
    """Whether ``secret`` matches a ``$7$`` hash (constant-time compare)."""
    m = HASH_RE.fullmatch(secret_hash)
    if m is None:
        return False
    salt, want = base64.b64decode(m.group(2)), base64.b64decode(m.group(3))
    got = hashlib.pbkdf2_hmac("sha512", secret.encode(), salt, int(m.group(1)))
    return hmac.compare_digest(got, want)


def check_device_id(device_id: str) -> None:
    """Refuse ids that could escape their topic subtree or collide with reserved topics."""
    if not DEVICE_ID_RE.fullmatch(device_id):
        raise BrokerAuthError(
            f"device id {device_id!r} does not match [A-Za-z0-9_.-]{{1,64}}; "
            "it cannot be given broker credentials"
        )
    if device_id in RESERVED_DEVICE_IDS:
        raise BrokerAuthError(
            f"device id {device_id!r} is reserved (assetwatch/{device_id}/# carries alert events)"
        )


def build_broker_files(
    terminals: Iterable[TerminalCredential], services: Mapping[str, str]
) -> BrokerFiles:
    """Password and ACL file contents for ``terminals`` plus ``services`` (name -> hash).

    Terminals without a secret are left out (they cannot connect) and listed,
    so the operator can provision them; a malformed hash is an error naming
    the device.
    """
    lines: list[str] = []
    missing: list[str] = []
    count = 0
    for t in sorted(terminals, key=lambda t: t.device_id):
        check_device_id(t.device_id)
        if not t.secret_hash:
            missing.append(t.device_id)
            continue
        if not HASH_RE.fullmatch(t.secret_hash):
            raise BrokerAuthError(
                f"terminal {t.device_id}: secret_hash is not a Mosquitto $7$ hash; "
                "re-provision it with `assetwatch broker provision`"
            )
        lines.append(f"{t.device_id}:{t.secret_hash}")
        count += 1
    for name in sorted(services):
        if name not in SERVICE_ACL:
            raise BrokerAuthError(f"unknown service account {name!r}")
        lines.append(f"{name}:{services[name]}")
    acl = [
        "# Generated by `assetwatch broker config`; regenerate instead of editing.",
        "# Terminals (username = device_id): publish only under their own subtree,",
        "# subscribe to nothing.",
        "pattern write assetwatch/%u/#",
    ]
    for name in sorted(services):
        acl += ["", f"user {name}", *SERVICE_ACL[name]]
    return BrokerFiles(
        passwd="\n".join(lines) + "\n",
        acl="\n".join(acl) + "\n",
        terminals=count,
        without_secret=tuple(missing),
    )


def load_terminal_credentials(conn: Conn) -> list[TerminalCredential]:
    """Every terminal in the registry with its stored hash (or None)."""
    rows = conn.execute(query("assetwatch", "terminal_credentials")).fetchall()
    return [TerminalCredential(str(r[0]), None if r[1] is None else str(r[1])) for r in rows]


def provision_terminals(
    conn: Conn, device_ids: Sequence[str], *, rotate: bool = False
) -> dict[str, str]:
    """Give each terminal a new secret, store its hash, and return the secrets (show them once).

    A terminal that already has credentials is refused unless ``rotate``; an
    unknown device id is refused. Runs in the caller's transaction.
    """
    existing = {t.device_id: t for t in load_terminal_credentials(conn)}
    out: dict[str, str] = {}
    for device_id in device_ids:
        check_device_id(device_id)
        known = existing.get(device_id)
        if known is None:
            raise BrokerAuthError(f"terminal {device_id!r} is not in the registry")
        if known.secret_hash and not rotate:
            raise BrokerAuthError(
                f"terminal {device_id!r} already has credentials (use --rotate to replace them)"
            )
        secret = new_secret()
        conn.execute(
            query("assetwatch", "set_terminal_secret"),
            {"secret_hash": hash_secret(secret), "device_id": device_id},
        )
        out[device_id] = secret
    return out


def load_service_secrets(path: Path) -> dict[str, str]:
    """Service account secrets kept in ``path`` (``name=secret`` lines), if the file exists."""
    if not path.exists():
        return {}
    out: dict[str, str] = {}
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, secret = line.partition("=")
        if not sep or name not in SERVICE_ACL or not secret:
            raise BrokerAuthError(f"{path}:{n}: expected svc@<role>=<secret>")
        out[name] = secret
    return out


def write_broker_files(
    out_dir: Path, terminals: Iterable[TerminalCredential], *, hostname: str = "127.0.0.1"
) -> tuple[BrokerFiles, dict[str, str]]:
    """Write ``passwd``, ``acl``, ``services.secrets`` and ``mosquitto.conf`` into ``out_dir``.

    Service secrets are generated once and reused on later runs, so
    regenerating after a registry change (then ``kill -HUP`` the broker) does
    not lock out running services. Returns the files and the service secrets.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    secrets_path = out_dir / "services.secrets"
    services = load_service_secrets(secrets_path)
    for name in SERVICE_ACL:
        services.setdefault(name, new_secret())
    files = build_broker_files(terminals, {n: hash_secret(s) for n, s in services.items()})
    _write_private(
        secrets_path,
        "# assetwatch broker service accounts (svc@role=secret); keep private\n"
        + "".join(f"{n}={s}\n" for n, s in sorted(services.items())),
    )
    _write_private(out_dir / "passwd", files.passwd)
    _write_private(out_dir / "acl", files.acl)
    (out_dir / "mosquitto.conf").write_text(mosquitto_conf(out_dir, bind=hostname))
    return files, services


def mosquitto_conf(
    auth_dir: Path,
    *,
    port: int = 1883,
    bind: str = "127.0.0.1",
    tls_port: int | None = None,
    cafile: Path | None = None,
    certfile: Path | None = None,
    keyfile: Path | None = None,
    persistence_dir: Path | None = None,
    run_as: str | None = None,
) -> str:
    """A Mosquitto 2 configuration using the generated files (plain and/or TLS listener).

    Started as root, Mosquitto switches to ``run_as`` (default: the
    ``mosquitto`` user), which must be able to read the 0600 files written
    here: ``chown mosquitto`` them, or pass ``run_as`` for the owner.
    """
    lines = [
        "# Generated by assetwatch; see docs/security.md",
        "per_listener_settings false",
        "allow_anonymous false",
        f"password_file {auth_dir.resolve() / 'passwd'}",
        f"acl_file {auth_dir.resolve() / 'acl'}",
        "max_queued_messages 0",
    ]
    if run_as is not None:
        lines.append(f"user {run_as}")
    if persistence_dir is not None:
        lines += ["persistence true", f"persistence_location {persistence_dir.resolve()}/"]
    if port:
        lines.append(f"listener {port} {bind}")
    if tls_port is not None:
        if cafile is None or certfile is None or keyfile is None:
            raise BrokerAuthError("a TLS listener needs cafile, certfile and keyfile")
        lines += [
            f"listener {tls_port} {bind}",
            f"cafile {cafile.resolve()}",
            f"certfile {certfile.resolve()}",
            f"keyfile {keyfile.resolve()}",
            "tls_version tlsv1.2",
        ]
    return "\n".join(lines) + "\n"


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    path.chmod(0o600)
