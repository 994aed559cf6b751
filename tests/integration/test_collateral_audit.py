"""The audit chain reports edited, inserted and removed entries, even past disabled triggers."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest

from collateral import audit
from collateral.canonical import canonical_json, sha256_hex

pytestmark = pytest.mark.integration


def _seed(conn: psycopg.Connection[tuple[object, ...]], n: int = 5) -> None:
    for i in range(n):
        audit.append(conn, "tester", "update", "asset", f"A{i}", {"i": i, "amount": 1.5 * i})
    conn.commit()


def _superuser_edit(conn: psycopg.Connection[tuple[object, ...]], sql: str) -> None:
    """What a superuser can do: switch the guard triggers off, change rows, switch them on."""
    conn.execute("ALTER TABLE audit_log DISABLE TRIGGER USER")
    conn.execute(sql)
    conn.execute("ALTER TABLE audit_log ENABLE TRIGGER USER")
    conn.commit()


def test_intact_chain_verifies_and_triggers_refuse_changes(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        _seed(conn)
        rep = audit.verify(conn)
        assert rep.ok
        assert rep.entries == 5
        assert rep.head_seq == 5
        assert audit.verify(conn, expect_head=rep.head_hash).ok
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE audit_log SET actor = 'x' WHERE seq = 2")
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM audit_log WHERE seq = 5")
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE audit_head SET seq = 4")
        conn.rollback()


def test_edited_entry_is_reported(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        _seed(conn)
        _superuser_edit(
            conn, 'UPDATE audit_log SET data = \'{"i": 2, "amount": 99}\' WHERE seq = 3'
        )
        rep = audit.verify(conn)
        assert [(f.kind, f.seq) for f in rep.findings] == [("edited", 3)]


def test_edited_and_rehashed_entry_is_reported(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        _seed(conn)
        prev, body = conn.execute("SELECT prev_hash, body FROM audit_log WHERE seq = 2").fetchone()  # type: ignore[misc]
        forged = body.replace('"actor":"tester"', '"actor":"mallory"')
        new_hash = sha256_hex(prev + forged)
        conn.execute("ALTER TABLE audit_log DISABLE TRIGGER USER")
        conn.execute(
            "UPDATE audit_log SET body = %s, actor = 'mallory', hash = %s WHERE seq = 2",
            (forged, new_hash),
        )
        conn.execute("ALTER TABLE audit_log ENABLE TRIGGER USER")
        conn.commit()
        rep = audit.verify(conn)
        assert [(f.kind, f.seq) for f in rep.findings] == [("edited", 2)]


def test_inserted_entry_is_reported(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        _seed(conn)
        # Renumber entries 3.. up by one and slip a well-formed, correctly chained entry in at 3.
        prev = conn.execute("SELECT hash FROM audit_log WHERE seq = 2").fetchone()[0]  # type: ignore[index]
        at = datetime(2026, 1, 1, tzinfo=UTC)
        body = canonical_json(
            {
                "seq": 3,
                "at": at,
                "actor": "mallory",
                "action": "update",
                "entity_type": "asset",
                "entity_id": "A9",
                "data": {},
            }
        )
        conn.execute("ALTER TABLE audit_log DISABLE TRIGGER USER")
        conn.execute("UPDATE audit_log SET seq = seq + 100 WHERE seq >= 3")
        conn.execute("UPDATE audit_log SET seq = seq - 99 WHERE seq >= 100")
        conn.execute(
            "INSERT INTO audit_log VALUES"
            " (3, %s, 'mallory', 'update', 'asset', 'A9', '{}', %s, %s, %s)",
            (at, body, prev, sha256_hex(prev + body)),
        )
        conn.execute("ALTER TABLE audit_log ENABLE TRIGGER USER")
        conn.commit()
        rep = audit.verify(conn)
        assert ("inserted", 3) in [(f.kind, f.seq) for f in rep.findings]
        assert {f.kind for f in rep.findings} <= {"inserted", "edited"}


def test_entry_appended_behind_the_heads_back_is_reported(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        _seed(conn)
        prev = conn.execute("SELECT hash FROM audit_head").fetchone()[0]  # type: ignore[index]
        at = datetime(2026, 1, 1, tzinfo=UTC)
        body = canonical_json(
            {
                "seq": 6,
                "at": at,
                "actor": "m",
                "action": "x",
                "entity_type": "asset",
                "entity_id": "A1",
                "data": {},
            }
        )
        conn.execute(
            "INSERT INTO audit_log VALUES (6, %s, 'm', 'x', 'asset', 'A1', '{}', %s, %s, %s)",
            (at, body, prev, sha256_hex(prev + body)),
        )
        conn.commit()
        assert [(f.kind, f.seq) for f in audit.verify(conn).findings] == [("inserted", 6)]


@pytest.mark.parametrize(
    ("seq", "expected"), [(3, ("removed", 3)), (5, ("removed", 5)), (1, ("removed", 1))]
)
def test_removed_entry_is_reported(db_url: str, seq: int, expected: tuple[str, int]) -> None:
    with psycopg.connect(db_url) as conn:
        _seed(conn)
        _superuser_edit(conn, f"DELETE FROM audit_log WHERE seq = {seq}")
        rep = audit.verify(conn)
        assert [(f.kind, f.seq) for f in rep.findings] == [expected]


def test_whole_chain_rewritten_is_caught_by_the_anchor(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        _seed(conn)
        anchor = audit.verify(conn).head_hash
        conn.execute("ALTER TABLE audit_log DISABLE TRIGGER USER")
        conn.execute("ALTER TABLE audit_head DISABLE TRIGGER USER")
        conn.execute("DELETE FROM audit_log")
        conn.execute("UPDATE audit_head SET seq = 0, hash = %s", (audit.GENESIS,))
        conn.execute("ALTER TABLE audit_log ENABLE TRIGGER USER")
        conn.execute("ALTER TABLE audit_head ENABLE TRIGGER USER")
        conn.commit()
        _seed(conn, 3)  # a fresh, self-consistent history
        assert audit.verify(conn).ok
        assert not audit.verify(conn, expect_head=anchor).ok
