"""The role supervisor of ``assetwatch run``: restart on failure, clean stop, refusals."""

from __future__ import annotations

import logging
import threading

import pytest

from assetwatch import run as runmod
from assetwatch.errors import RunError
from assetwatch.run import Supervisor, check_external, start_roles, stop_roles
from assetwatch.settings import Settings, load_settings


def test_failing_role_is_restarted_and_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(runmod, "MAX_BACKOFF_S", 0.01)
    calls: list[int] = []
    stop = threading.Event()

    def flaky(settings: Settings, stop_event: threading.Event, ready: threading.Event) -> None:
        calls.append(1)
        if len(calls) < 3:
            raise ValueError(f"boom {len(calls)}")
        ready.set()
        stop_event.wait()

    sup = Supervisor("flaky", flaky, load_settings(), stop)
    # backoff starts at 1 s: shorten by waiting on the stop event with a patched wait
    sup_wait = stop.wait
    monkeypatch.setattr(stop, "wait", lambda timeout=None: sup_wait(0.01 if timeout else None))
    with caplog.at_level(logging.ERROR, logger="assetwatch.run"):
        sup.start()
        assert sup.ready.wait(5)
    assert sup.restarts == 2
    assert sup.last_error == "ValueError: boom 2"
    assert sum("role flaky failed" in r.getMessage() for r in caplog.records) == 2
    assert stop_roles([sup], stop, timeout=5)
    assert len(calls) == 3


def test_role_returning_early_is_restarted(monkeypatch: pytest.MonkeyPatch) -> None:
    stop = threading.Event()
    runs: list[int] = []

    def quitter(settings: Settings, stop_event: threading.Event, ready: threading.Event) -> None:
        runs.append(1)
        if len(runs) >= 2:
            ready.set()
            stop_event.wait()

    sup_wait = stop.wait
    monkeypatch.setattr(stop, "wait", lambda timeout=None: sup_wait(0.01 if timeout else None))
    sup = Supervisor("quitter", quitter, load_settings(), stop)
    sup.start()
    assert sup.ready.wait(5)
    assert sup.last_error == "returned without being asked to stop"
    assert stop_roles([sup], stop, timeout=5)


def test_all_roles_stop_on_one_event() -> None:
    stop = threading.Event()

    def worker(settings: Settings, stop_event: threading.Event, ready: threading.Event) -> None:
        ready.set()
        stop_event.wait()

    sups = start_roles(load_settings(), ["a", "b"], stop, functions={"a": worker, "b": worker})
    assert all(s.ready.wait(5) for s in sups)
    assert stop_roles(sups, stop, timeout=5)
    assert all(s.restarts == 0 for s in sups)


def test_unknown_role_refused_before_starting() -> None:
    with pytest.raises(RunError, match="unknown role"):
        start_roles(load_settings(), ["ingest", "nope"], threading.Event())


def test_run_needs_external_servers() -> None:
    with pytest.raises(RunError, match="ASSETWATCH_DATABASE_URL"):
        check_external(load_settings(database_url=None), ["serve"])
    with pytest.raises(RunError, match="ASSETWATCH_MQTT_URL"):
        check_external(load_settings(database_url="postgresql://x/y", mqtt_url=None), ["ingest"])
    check_external(load_settings(database_url="postgresql://x/y", mqtt_url=None), ["serve"])
    with pytest.raises(ValueError, match="scheme"):
        check_external(
            load_settings(database_url="postgresql://x/y", mqtt_url="http://h"), ["detect"]
        )
