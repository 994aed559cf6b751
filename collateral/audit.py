"""The append-only audit chain: every registry, zone and alert change, hash-linked.

Each entry's ``body`` is the canonical JSON of (seq, time, actor, action,
entity, data) and ``hash = sha256(prev_hash + body)``. ``audit_head`` keeps the
newest seq and hash, so a removed tail shows up as well as an edited, inserted
or removed entry in the middle. Triggers refuse UPDATE/DELETE/TRUNCATE, but
:func:`verify` never trusts them: it re-derives everything from the rows, so
tampering by a superuser who disabled the triggers is still reported. Anchor
the head hash outside the database (``audit verify --expect-head``) to catch a
rewrite of the whole chain.

Appends lock the head row until the caller commits: entries are gap-free and
linear, at the price of serialising concurrent writers of audited changes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import psycopg

from collateral.canonical import canonical_json, sha256_hex
from collateral.errors import AuditError
from telemetry.db import Conn
from telemetry.sqlfiles import query

GENESIS: Final = "0" * 64


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One change to append: who did what to which entity, and the change itself."""

    actor: str
    action: str
    entity_type: str
    entity_id: str
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class AuditFinding:
    """One break in the chain: ``kind`` is ``edited``, ``inserted`` or ``removed``."""

    kind: str
    seq: int
    detail: str


@dataclass(frozen=True, slots=True)
class AuditReport:
    """Result of :func:`verify`; ``ok`` when no finding was made."""

    entries: int
    head_seq: int
    head_hash: str
    findings: tuple[AuditFinding, ...]

    @property
    def ok(self) -> bool:
        return not self.findings

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "findings": [{"kind": f.kind, "seq": f.seq, "detail": f.detail} for f in self.findings],
        }


def _body(seq: int, at: datetime, e: AuditEntry) -> str:
    return canonical_json(
        {
            "seq": seq,
            "at": at,
            "actor": e.actor,
            "action": e.action,
            "entity_type": e.entity_type,
            "entity_id": e.entity_id,
            "data": e.data,
        }
    )


def append(
    conn: Conn,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    data: Mapping[str, Any],
    *,
    at: datetime | None = None,
) -> str:
    """Append one entry inside the caller's transaction; returns its hash.

    ``data`` must be JSON-serialisable (datetimes, dates and decimals allowed).
    The caller commits; until then other appenders wait on the head row.
    """
    return append_many(conn, [AuditEntry(actor, action, entity_type, entity_id, data)], at=at)


def append_many(conn: Conn, entries: Iterable[AuditEntry], *, at: datetime | None = None) -> str:
    """Append several entries in order (one COPY); returns the new head hash."""
    when = (at or datetime.now(UTC)).astimezone(UTC)
    try:
        head = conn.execute(query("collateral", "audit_head_lock")).fetchone()
        if head is None:
            raise AuditError("audit_head row is missing: run `assetwatch db init`")
        seq, prev = int(head[0]), str(head[1])
        rows: list[tuple[Any, ...]] = []
        for e in entries:
            seq += 1
            body = _body(seq, when, e)
            digest = sha256_hex(prev + body)
            data_text = json.dumps(json.loads(body)["data"], ensure_ascii=False)
            rows.append(
                (
                    seq,
                    when,
                    e.actor,
                    e.action,
                    e.entity_type,
                    e.entity_id,
                    data_text,
                    body,
                    prev,
                    digest,
                )
            )
            prev = digest
        if not rows:
            return prev
        with conn.cursor() as cur, cur.copy(query("collateral", "audit_copy")) as copy:
            for row in rows:
                copy.write_row(row)
        conn.execute(query("collateral", "audit_head_advance"), {"seq": seq, "hash": prev})
    except psycopg.Error as exc:
        raise AuditError(f"cannot append to the audit log: {exc}") from exc
    return prev


@dataclass(frozen=True, slots=True)
class _Row:
    seq: int
    prev_hash: str
    hash: str
    content_ok: bool
    why: str


def _check_row(r: Sequence[Any]) -> _Row:
    seq, at, actor, action, etype, eid, prev_hash, stored, body, data_matches = r
    why = ""
    if sha256_hex(str(prev_hash) + str(body)) != stored:
        why = "content does not match its hash"
    else:
        try:
            doc = json.loads(body)
        except ValueError:
            doc = {}
        cols = {
            "seq": seq,
            "actor": actor,
            "action": action,
            "entity_type": etype,
            "entity_id": eid,
        }
        wrong = [k for k, v in cols.items() if doc.get(k) != v]
        if doc.get("at") != json.loads(canonical_json(at)):
            wrong.append("at")
        if not data_matches:
            wrong.append("data")
        if wrong:
            why = "column(s) " + ", ".join(wrong) + " differ from the hashed body"
    return _Row(int(seq), str(prev_hash), str(stored), not why, why)


def verify(conn: Conn, *, expect_head: str | None = None) -> AuditReport:
    """Re-derive the chain from the rows and report every edited, inserted or removed entry."""
    try:
        head = conn.execute(query("collateral", "audit_head_read")).fetchone()
        with conn.cursor(name="audit_scan") if not conn.autocommit else conn.cursor() as cur:
            cur.execute(query("collateral", "audit_scan"))
            rows = [_check_row(r) for r in cur]
    except psycopg.Error as exc:
        raise AuditError(f"cannot read the audit log: {exc}") from exc
    head_seq, head_hash = (int(head[0]), str(head[1])) if head else (0, GENESIS)
    found: dict[tuple[str, int], AuditFinding] = {}

    def add(kind: str, seq: int, detail: str) -> None:
        found.setdefault((kind, seq), AuditFinding(kind, seq, detail))

    index = {r.hash: i for i, r in enumerate(rows)}
    for i, r in enumerate(rows):
        if not r.content_ok:
            add("edited", r.seq, r.why)
        expected = rows[i - 1].hash if i else GENESIS
        if r.prev_hash == expected:
            continue
        j = -1 if r.prev_hash == GENESIS else index.get(r.prev_hash)
        if j is not None and j < i - 1:
            for k in range(j + 1, i):
                add("inserted", rows[k].seq, "entry is not part of the hash chain")
        elif i and r.seq == rows[i - 1].seq + 1 and rows[i - 1].content_ok:
            add("edited", rows[i - 1].seq, "entry was changed and re-hashed (next link broken)")
        else:
            first = rows[i - 1].seq + 1 if i else 1
            add(
                "removed",
                first,
                f"entries {first}..{r.seq - 1} missing before seq {r.seq}"
                if r.seq - 1 >= first
                else f"entry before seq {r.seq} missing",
            )
    last_seq = rows[-1].seq if rows else 0
    if not rows and head_seq:
        add("removed", 1, f"log is empty but the head records {head_seq} entries")
    elif last_seq < head_seq:
        add("removed", last_seq + 1, f"entries {last_seq + 1}..{head_seq} missing at the end")
    elif last_seq > head_seq:
        for r in rows:
            if r.seq > head_seq:
                add("inserted", r.seq, "entry appended behind the head's back")
    elif rows and rows[-1].hash != head_hash:
        add("edited", last_seq, "last entry differs from the hash kept in audit_head")
    if expect_head is not None and head_hash != expect_head.lower():
        add("edited", head_seq, f"head hash {head_hash} differs from the expected {expect_head}")
    findings = tuple(sorted(found.values(), key=lambda f: (f.seq, f.kind)))
    return AuditReport(len(rows), head_seq, head_hash, findings)


def history(conn: Conn, entity_type: str, entity_id: str) -> list[dict[str, Any]]:
    """Audit entries of one entity, oldest first (for reports and the gateway)."""
    try:
        cur = conn.execute(
            query("collateral", "audit_entries_for"),
            {"entity_type": entity_type, "entity_id": entity_id},
        )
        cols = [d.name for d in cur.description or ()]
        return [dict(zip(cols, r, strict=True)) for r in cur]
    except psycopg.Error as exc:
        raise AuditError(f"cannot read the audit log: {exc}") from exc
