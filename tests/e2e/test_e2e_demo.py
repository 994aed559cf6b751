"""``assetwatch demo`` from nothing: servers, seed, login, alerts, clean Ctrl-C, data kept."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from assetwatch.embedded import free_port, port_open
from tests.support.stack import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]

FLEET = "vehicle=3,ship=2,farm=1,equipment=2"


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # Outside pytest's private tmp root: embedded PostgreSQL runs as the
    # unprivileged pgserver user when the tests run as root.
    root = Path(tempfile.mkdtemp(prefix="aw-demo-"))
    root.chmod(0o755)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _start(data_dir: Path, port: int, out: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSETWATCH_")}
    env |= {"ASSETWATCH_DATA_DIR": str(data_dir), "ASSETWATCH_HTTP_PORT": str(port)}
    args = [sys.executable, "-c", "from assetwatch.cli import main; main()", "demo"]
    args += ["--fleet", FLEET, "--days", "1", "--speedup", "3600"]
    with out.open("ab") as fh:
        return subprocess.Popen(args, env=env, stdout=fh, stderr=subprocess.STDOUT)


def test_e2e_demo_runs_alerts_and_stops_cleanly(data_dir: Path) -> None:
    port = free_port()
    out = data_dir / "demo.out"
    proc = _start(data_dir, port, out)
    try:
        wait_until(lambda: "login (API key)" in out.read_text(errors="replace"), 120, "the demo")
        text = out.read_text(errors="replace")
        m = re.search(r"login \(API key\): (\S+)", text)
        assert m is not None
        token = m.group(1)
        assert f"dashboard: http://127.0.0.1:{port}/" in text
        assert "imported" in text
        pg_url = f"postgresql://postgres:@/postgres?host={data_dir / 'pg'}"

        def streaming_alert() -> bool:
            with psycopg.connect(pg_url) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM alerts WHERE kind <> 'double_pledge'"
                ).fetchone()
            return bool(row and row[0] > 0)

        wait_until(streaming_alert, 120, "a first alert from the simulated incidents")
        r = httpx.get(
            f"http://127.0.0.1:{port}/api/alerts",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert r.status_code == 200, r.text
        with psycopg.connect(pg_url) as conn:
            row = conn.execute(
                "SELECT count(DISTINCT borrower_id), count(*), count(DISTINCT class) FROM assets"
            ).fetchone()
        assert row is not None
        assert row[2] == 4
    finally:
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(60)
    log = out.read_text(errors="replace")
    assert rc == 0, log[-3000:]
    assert "stopped; data kept" in log
    assert "Traceback" not in log
    assert not port_open("127.0.0.1", port)
    assert not (data_dir / "pg" / "postmaster.pid").exists(), "PostgreSQL left running"

    # The next start keeps the portfolio and the login.
    proc = _start(data_dir, port, out)
    try:
        wait_until(
            lambda: out.read_text(errors="replace").count("login (API key)") == 2, 120, "restart"
        )
        assert "portfolio already seeded" in out.read_text(errors="replace")
        assert out.read_text(errors="replace").count(token) == 2
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0
