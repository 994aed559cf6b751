"""Alert lifecycle on a real database: escalation, clearing, re-raise, triage, checkpoints."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from alerts.detectors import Level, Signal
from alerts.engine import AlertPolicy, apply_signals, clear_due
from alerts.errors import InvalidTransition
from alerts.lifecycle import acknowledge, assign, outcomes_by_kind, resolve
from alerts.streaming import StreamingHook
from assetwatch.status import collect_status
from collateral.audit import verify
from telemetry.db import Conn
from telemetry.model import Reading
from tests.unit.test_alerts_detectors import _tamper_incident

pytestmark = pytest.mark.integration

T = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
POLICY = AlertPolicy(clear_after=timedelta(minutes=30), cooldown=timedelta(hours=1))


@pytest.fixture
def conn(db_url: str) -> Iterator[Conn]:
    with psycopg.connect(db_url) as c:
        yield c


def sig(minutes: float, *, active: bool = True, level: Level = Level.WATCH) -> Signal:
    return Signal(
        kind="tamper",
        device_id="T1",
        asset_id="A1",
        active=active,
        level=level,
        ts=T + timedelta(minutes=minutes),
        evidence={"thresholds": {"x": 1}},
    )


def rows(conn: Conn) -> list[tuple[object, ...]]:
    return conn.execute(
        "SELECT id, level, peak_level, status, count, cleared_at IS NOT NULL"
        " FROM alerts ORDER BY id"
    ).fetchall()


def events(conn: Conn) -> list[str]:
    return [str(e) for (e,) in conn.execute("SELECT event FROM alert_events ORDER BY id")]


def test_escalation_recurrence_and_one_open_alert(conn: Conn) -> None:
    apply_signals(conn, [sig(0)], POLICY)
    apply_signals(conn, [sig(5, level=Level.YELLOW)], POLICY)
    apply_signals(conn, [sig(6, level=Level.WATCH)], POLICY)  # level never drops while open
    apply_signals(conn, [sig(10, active=False)], POLICY)
    apply_signals(conn, [sig(15, level=Level.ORANGE)], POLICY)  # back before clearing: recurrence
    assert rows(conn) == [(1, "orange", "orange", "open", 2, False)]
    assert events(conn) == ["raised", "escalated", "condition_ended", "recurred", "escalated"]
    doc = collect_status(conn)
    assert doc["alerts_open"]["orange"] == 1


def test_clear_after_condition_ended_then_reraise_after_cooldown(conn: Conn) -> None:
    apply_signals(conn, [sig(0), sig(10, active=False)], POLICY)
    assert clear_due(conn, T + timedelta(minutes=30), POLICY) == []  # ended only 20 min ago
    cleared = clear_due(conn, T + timedelta(minutes=41), POLICY)
    assert [c.event for c in cleared] == ["cleared"]
    assert rows(conn) == [(1, "watch", "watch", "resolved", 1, True)]
    apply_signals(conn, [sig(60)], POLICY)  # returns within the cooldown: suppressed
    assert len(rows(conn)) == 1
    apply_signals(conn, [sig(41 + 61)], POLICY)  # after the cooldown: raised again
    assert [r[3] for r in rows(conn)] == ["resolved", "open"]


def test_reraised_after_manual_resolve_while_condition_persists(conn: Conn) -> None:
    apply_signals(conn, [sig(0)], POLICY)
    resolve(
        conn, 1, actor="li.wei", outcome="explained", note="workshop", now=T + timedelta(minutes=5)
    )
    apply_signals(conn, [sig(30)], POLICY)  # still there, within cooldown
    assert len(rows(conn)) == 1
    apply_signals(conn, [sig(70)], POLICY)
    assert [r[3] for r in rows(conn)] == ["resolved", "open"]


def test_lifecycle_transitions_outcomes_and_audit(conn: Conn) -> None:
    apply_signals(conn, [sig(0)], POLICY)
    acknowledge(conn, 1, actor="li.wei", assignee="li.wei", note="calling borrower")
    with pytest.raises(InvalidTransition):
        acknowledge(conn, 1, actor="li.wei")
    with pytest.raises(InvalidTransition):
        resolve(conn, 1, actor="li.wei", outcome="maybe")
    assign(conn, 1, actor="li.wei", assignee="zhang.min")
    resolve(conn, 1, actor="li.wei", outcome="false_alarm", note="fuse replaced")
    row = conn.execute("SELECT status, outcome, note, assignee FROM alerts").fetchone()
    assert row == ("resolved", "false_alarm", "fuse replaced", "zhang.min")
    stats = outcomes_by_kind(conn)
    assert [(s.kind, s.false_alarm, s.false_alarm_rate) for s in stats] == [("tamper", 1, 1.0)]
    actions = [a for (a,) in conn.execute("SELECT action FROM audit_log ORDER BY seq")]
    assert actions == ["alert.raised", "alert.acknowledged", "alert.assigned", "alert.resolved"]
    assert verify(conn).ok


def test_commit_hook_checkpoints_state_with_the_transaction(conn: Conn) -> None:
    rs = _tamper_incident()
    half = 60  # the quiet part only
    hook = StreamingHook(policy=POLICY)
    with conn.transaction():
        hook(conn, rs[:half])

    # a rolled-back batch leaves neither alerts nor state behind
    def failing_batch() -> None:
        with conn.transaction():
            StreamingHook(policy=POLICY)(conn, rs[half:])
            raise RuntimeError("ingest failed after the hook")

    with pytest.raises(RuntimeError):
        failing_batch()
    assert rows(conn) == []
    # a new hook (a restarted worker) continues from the checkpoint, out-of-order batch included
    restarted = StreamingHook(policy=POLICY)
    with conn.transaction():
        restarted(conn, list(reversed(rs[half:])))
    assert [r[3] for r in rows(conn)] == ["open"]
    with conn.transaction():  # replaying the same readings raises nothing new
        restarted(conn, [replace(r, seq=None) for r in rs[half:]])
    assert len(rows(conn)) == 1
    size = conn.execute("SELECT max(octet_length(state::text)) FROM detector_state").fetchone()
    assert size is not None
    assert 0 < size[0] < 5 * 2048


def _state_text(conn: Conn, device_id: str) -> str:
    row = conn.execute(
        "SELECT state FROM detector_state WHERE device_id = %s", (device_id,)
    ).fetchone()
    assert row is not None
    return str(row[0])


def _failing_batch(conn: Conn, hook: StreamingHook, readings: list[Reading]) -> None:
    with conn.transaction():
        hook(conn, readings)
        raise RuntimeError("the write transaction failed after the hook")


def test_hook_state_memory_never_outlives_the_checkpoint(conn: Conn) -> None:
    """States kept in memory are used only at the stored version: a rolled-back
    batch and another worker's writes are read back from the database."""
    rs = _tamper_incident()
    chunks = [rs[i : i + 10] for i in range(0, len(rs), 10)]
    # reference: one hook, every batch committed (as terminal T9)
    reference = StreamingHook(policy=POLICY)
    alone: list[str] = []
    for chunk in chunks:
        with conn.transaction():
            reference(conn, [replace(r, device_id="T9") for r in chunk])
        alone.append(_state_text(conn, "T9"))
    # T1: two workers sharing a subscription, and a batch that rolls back on the way
    a, b = StreamingHook(policy=POLICY), StreamingHook(policy=POLICY)
    shared: list[str] = []
    for i, chunk in enumerate(chunks):
        worker = a if i % 3 != 2 else b
        if i == 4:  # worker a steps this batch, then its transaction fails
            with pytest.raises(RuntimeError):
                _failing_batch(conn, a, chunk)
        with conn.transaction():
            worker(conn, chunk)
        shared.append(_state_text(conn, "T1"))
    assert shared == alone
    # a re-reads only what it did not write itself: its first batch, the batches
    # after each of b's, and the one after its own rolled-back batch
    assert a.state_reads == 1 + len(range(2, len(chunks) - 1, 3)) + 1
    assert reference.state_reads == 1
    assert [str(r[3]) for r in rows(conn)] == ["open", "open"]


def test_second_terminal_that_is_fine_does_not_end_the_condition(conn: Conn) -> None:
    other = Signal(kind="tamper", device_id="T2", asset_id="A1", active=False, ts=T)
    apply_signals(conn, [sig(0), replace(other, ts=T + timedelta(minutes=5))], POLICY)
    assert events(conn) == ["raised"]
    apply_signals(conn, [sig(10, active=False)], POLICY)
    assert events(conn) == ["raised", "condition_ended"]
