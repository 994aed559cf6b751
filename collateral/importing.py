"""Applying a registry document: all-or-nothing, audited, double pledges refused or flagged.

The file is validated whole, cross-references are checked against the file
plus the database, changes are applied in one transaction with an audit entry
each, and double pledges or double bindings the import would create refuse the
whole file unless the caller accepts them as flagged conflicts
(``allow_conflicts``). Entities are upserted by id (unchanged rows are left
alone, so re-importing a file is a no-op); bindings and pledges are history,
matched by (terminal or asset, counterpart, from) and never rewritten.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from collateral import audit
from collateral.audit import AuditEntry
from collateral.conflicts import Conflict, find_conflicts
from collateral.errors import (
    DoublePledgeError,
    GeoJSONError,
    Problem,
    RegistryError,
)
from collateral.geojson import parse_zone_geometry, zone_base_point
from collateral.model import (
    Binding,
    Pledge,
    RegistryDocument,
    Terminal,
)
from collateral.state import RegistryState, read_state
from telemetry.db import Conn
from telemetry.sqlfiles import query


@dataclass
class ImportResult:
    """What an import changed, per section, and the conflicts it flagged (if allowed)."""

    inserted: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    closed: dict[str, int] = field(default_factory=dict)
    flagged: tuple[Conflict, ...] = ()
    audit_head: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "closed": self.closed,
            "flagged": [c.as_dict() for c in self.flagged],
            "audit_head": self.audit_head,
        }


def _jsonable(obj: Any) -> dict[str, Any]:
    d = asdict(obj)
    if "class_" in d:
        d["class"] = d.pop("class_")
    return d


def _check_references(doc: RegistryDocument, st: RegistryState) -> list[Problem]:
    borrowers = set(st.borrowers) | {b.id for b in doc.borrowers}
    loans = set(st.loans) | {x.id for x in doc.loans}
    assets = set(st.assets) | {a.id for a in doc.assets}
    terminals = set(st.terminals) | {t.device_id for t in doc.terminals}
    profiles = set(st.device_profiles) | {p.name for p in doc.device_profiles}
    out: list[Problem] = []
    for i, x in enumerate(doc.loans):
        if x.borrower_id not in borrowers:
            out.append(Problem(f"loans[{i}] ({x.id})", f"unknown borrower_id {x.borrower_id!r}"))
    for i, a in enumerate(doc.assets):
        if a.borrower_id not in borrowers:
            out.append(Problem(f"assets[{i}] ({a.id})", f"unknown borrower_id {a.borrower_id!r}"))
    fields = ("jt808_phone", "mmsi", "dev_eui", "aemp_serial")
    owners = {
        f: {getattr(o, f): o.device_id for o in st.terminals.values() if getattr(o, f)}
        for f in fields
    }
    # identifiers the file moves away from their current holder (e.g. a swapped SIM)
    incoming = {t.device_id: t for t in doc.terminals}
    moving = {
        f: {
            d
            for d in incoming
            if d in st.terminals and getattr(st.terminals[d], f) != getattr(incoming[d], f)
        }
        for f in fields
    }
    for i, t in enumerate(doc.terminals):
        if t.device_profile and t.device_profile not in profiles:
            out.append(
                Problem(
                    f"terminals[{i}] ({t.device_id})",
                    f"unknown device_profile {t.device_profile!r}",
                )
            )
        for fld in ("jt808_phone", "mmsi", "dev_eui", "aemp_serial"):
            v = getattr(t, fld)
            holder = owners[fld].get(v) if v else None
            owner = (
                holder
                if holder is not None and holder != t.device_id and holder not in moving[fld]
                else None
            )
            if owner is not None:
                out.append(
                    Problem(
                        f"terminals[{i}] ({t.device_id})",
                        f"{fld} {v} already belongs to terminal {owner}",
                    )
                )
    for i, b in enumerate(doc.bindings):
        for what, v, known in (
            ("device_id", b.device_id, terminals),
            ("asset_id", b.asset_id, assets),
        ):
            if v not in known:
                out.append(Problem(f"bindings[{i}]", f"unknown {what} {v!r}"))
    for i, p in enumerate(doc.pledges):
        for what, v, known in (("asset_id", p.asset_id, assets), ("loan_id", p.loan_id, loans)):
            if v not in known:
                out.append(Problem(f"pledges[{i}]", f"unknown {what} {v!r}"))
    declared = {a.id: a.declared for a in st.assets.values()} | {
        a.id: a.declared for a in doc.assets
    }
    in_doc = {a.id for a in doc.assets}
    for i, z in enumerate(doc.zones):
        if z.asset_id not in assets:
            out.append(Problem(f"zones[{i}] ({z.id})", f"unknown asset_id {z.asset_id!r}"))
            continue
        if z.asset_id in in_doc:
            continue  # validated with this base when the document was parsed
        try:
            parse_zone_geometry(z.geometry, base=zone_base_point(declared.get(z.asset_id)))
        except GeoJSONError as exc:
            out.append(Problem(f"zones[{i}] ({z.id}) geometry", str(exc)))
    return out


def _row(obj: Any) -> tuple[Any, ...]:
    return tuple(Jsonb(v) if isinstance(v, dict) else v for v in asdict(obj).values())


def _copy(conn: Conn, name: str, objs: Sequence[Any]) -> None:
    if not objs:
        return
    with conn.cursor() as cur, cur.copy(query("collateral", name)) as cp:
        for o in objs:
            cp.write_row(_row(o))


def _params(obj: Any) -> dict[str, Any]:
    return {k: Jsonb(v) if isinstance(v, dict) else v for k, v in asdict(obj).items()}


_ENTITIES: tuple[tuple[str, str, str, str], ...] = (
    # section, key attribute, copy query, update query
    ("borrowers", "id", "borrowers_copy", "borrower_update"),
    ("loans", "id", "loans_copy", "loan_update"),
    ("device_profiles", "name", "device_profiles_copy", "device_profile_update"),
    ("assets", "id", "assets_copy", "asset_update"),
    ("terminals", "device_id", "terminals_copy", "terminal_update"),
    ("zones", "id", "zones_copy", "zone_update"),
)


def _history_key(x: Binding | Pledge) -> tuple[str, str, datetime]:
    if isinstance(x, Binding):
        return (x.device_id, x.asset_id, x.valid_from)
    return (x.asset_id, x.loan_id, x.valid_from)


def import_document(
    conn: Conn, doc: RegistryDocument, *, actor: str = "import", allow_conflicts: bool = False
) -> ImportResult:
    """Apply a validated registry document atomically (see module docstring).

    Runs in its own transaction (a savepoint inside the caller's). Raises
    :class:`RegistryError` (with every problem) or :class:`DoublePledgeError`;
    then nothing was applied.
    """
    result = ImportResult()
    entries: list[AuditEntry] = []
    try:
        with conn.transaction():
            conn.execute(query("collateral", "registry_lock"))
            st = read_state(conn)
            problems = _check_references(doc, st)
            if problems:
                raise RegistryError(
                    f"registry refused: {len(problems)} problem(s), nothing applied",
                    tuple(problems),
                )
            before = {c.signature for c in _conflicts_of(st)}
            for section, key, copy_q, update_q in _ENTITIES:
                existing: dict[str, Any] = getattr(st, section)
                new, changed = [], []
                for obj in getattr(doc, section):
                    old = existing.get(getattr(obj, key))
                    if (
                        isinstance(obj, Terminal)
                        and isinstance(old, Terminal)
                        and obj.secret_hash is None
                    ):
                        # exports leave credentials out; re-importing one keeps them
                        obj = replace(obj, secret_hash=old.secret_hash)
                    if old is None:
                        new.append(obj)
                        entries.append(
                            AuditEntry(
                                actor,
                                "create",
                                section[:-1],
                                getattr(obj, key),
                                {"new": _jsonable(obj)},
                            )
                        )
                    elif old != obj:
                        changed.append(obj)
                        entries.append(
                            AuditEntry(
                                actor,
                                "update",
                                section[:-1],
                                getattr(obj, key),
                                {"old": _jsonable(old), "new": _jsonable(obj)},
                            )
                        )
                _copy(conn, copy_q, new)
                for obj in changed:
                    conn.execute(query("collateral", update_q), _params(obj))
                result.inserted[section] = len(new)
                result.updated[section] = len(changed)
                result.unchanged[section] = len(getattr(doc, section)) - len(new) - len(changed)
            for section, rows, copy_q, close_q in (
                ("bindings", st.bindings, "bindings_copy", "binding_close"),
                ("pledges", st.pledges, "pledges_copy", "pledge_close"),
            ):
                _apply_history(
                    conn,
                    section,
                    rows,
                    getattr(doc, section),
                    copy_q,
                    close_q,
                    actor,
                    entries,
                    result,
                )
            after_state = read_state(conn)
            flagged = [c for c in _conflicts_of(after_state) if c.signature not in before]
            if flagged and not allow_conflicts:
                raise DoublePledgeError(
                    f"registry refused: {len(flagged)} double pledge(s) or binding(s), "
                    "nothing applied",
                    tuple(Problem(c.key, c.detail) for c in flagged),
                )
            for c in flagged:
                _flag(conn, c, actor, entries)
            result.flagged = tuple(flagged)
            result.audit_head = audit.append_many(conn, entries)
    except psycopg.Error as exc:
        raise RegistryError(
            f"registry import failed in the database, nothing applied: {exc}"
        ) from exc
    return result


def _conflicts_of(st: RegistryState) -> list[Conflict]:
    return find_conflicts(st.assets, (p for _, p in st.pledges), (b for _, b in st.bindings))


def _flag(conn: Conn, c: Conflict, actor: str, entries: list[AuditEntry]) -> None:
    conn.execute(
        query("collateral", "conflict_flag"),
        {
            "kind": c.kind,
            "key": c.key,
            "asset_ids": list(c.asset_ids),
            "loan_ids": list(c.loan_ids),
            "device_id": c.device_id,
            "detail": c.detail,
        },
    )
    entries.append(AuditEntry(actor, "flag_double_pledge", "conflict", c.key, c.as_dict()))


def _apply_history(
    conn: Conn,
    section: str,
    existing: list[tuple[int, Any]],
    wanted: Iterable[Any],
    copy_q: str,
    close_q: str,
    actor: str,
    entries: list[AuditEntry],
    result: ImportResult,
) -> None:
    by_key = {_history_key(x): (i, x) for i, x in existing}
    new: list[Any] = []
    closed = unchanged = 0
    for obj in wanted:
        found = by_key.get(_history_key(obj))
        if found is None:
            new.append(obj)
            entries.append(
                AuditEntry(
                    actor,
                    "open" if obj.valid_to is None else "record",
                    section[:-1],
                    "/".join(map(str, _history_key(obj)[:2])),
                    {"new": _jsonable(obj)},
                )
            )
            continue
        row_id, old = found
        if old == obj or (obj.valid_to is None and old.valid_to is not None):
            unchanged += 1  # already recorded (or closed since): history is never reopened
            continue
        if old.valid_to is None and obj.valid_to is not None:
            conn.execute(
                query("collateral", close_q),
                {
                    "id": row_id,
                    "valid_to": obj.valid_to,
                    "closed_by": obj.by_user,
                    "close_reason": obj.reason,
                },
            )
            entries.append(
                AuditEntry(
                    actor,
                    "close",
                    section[:-1],
                    "/".join(map(str, _history_key(obj)[:2])),
                    {"id": row_id, "valid_to": obj.valid_to},
                )
            )
            closed += 1
            continue
        raise RegistryError(
            "registry refused, nothing applied",
            (
                Problem(
                    f"{section} {'/'.join(map(str, _history_key(obj)))}",
                    "already recorded with a different end; history is not rewritten",
                ),
            ),
        )
    _copy(conn, copy_q, new)
    result.inserted[section] = len(new)
    result.closed[section] = closed
    result.unchanged[section] = unchanged
