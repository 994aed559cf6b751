"""The registry in the database: import and export the registry file, bind and pledge.

Imports are all-or-nothing: the file is validated whole, cross-references are
checked against the file plus the database, changes are applied in one
transaction with an audit entry each, and double pledges or double bindings
that the import would create refuse the whole file unless the caller accepts
them as flagged conflicts (``allow_conflicts``). Entities are upserted by id
(unchanged rows are left alone, so re-importing a file is a no-op); bindings
and pledges are history, matched by (terminal or asset, counterpart, from).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from collateral import audit
from collateral.audit import AuditEntry
from collateral.conflicts import Conflict, find_conflicts
from collateral.document import to_document
from collateral.errors import (
    CollateralError,
    DoublePledgeError,
    GeoJSONError,
    NotFound,
    Problem,
    RegistryError,
)
from collateral.geojson import parse_zone_geometry, zone_base_point
from collateral.model import (
    Asset,
    Binding,
    Borrower,
    DeviceProfile,
    Loan,
    Pledge,
    RegistryDocument,
    Terminal,
    ZoneRecord,
)
from telemetry.db import Conn
from telemetry.sqlfiles import query


@dataclass(frozen=True)
class RegistryState:
    """Everything in the registry tables, keyed for lookups (ids of history rows kept)."""

    borrowers: dict[str, Borrower]
    loans: dict[str, Loan]
    device_profiles: dict[str, DeviceProfile]
    assets: dict[str, Asset]
    terminals: dict[str, Terminal]
    bindings: list[tuple[int, Binding]]
    pledges: list[tuple[int, Pledge]]
    zones: dict[str, ZoneRecord]

    def document(self) -> RegistryDocument:
        return RegistryDocument(
            borrowers=tuple(self.borrowers.values()),
            loans=tuple(self.loans.values()),
            device_profiles=tuple(self.device_profiles.values()),
            assets=tuple(self.assets.values()),
            terminals=tuple(self.terminals.values()),
            bindings=tuple(b for _, b in self.bindings),
            pledges=tuple(p for _, p in self.pledges),
            zones=tuple(self.zones.values()),
        )


def read_state(conn: Conn) -> RegistryState:
    """Load the whole registry (fine for tens of thousands of assets)."""

    def rows(name: str) -> list[tuple[Any, ...]]:
        return conn.execute(query("collateral", name)).fetchall()

    try:
        return RegistryState(
            borrowers={r[0]: Borrower(*r) for r in rows("borrowers_all")},
            loans={r[0]: Loan(*r) for r in rows("loans_all")},
            device_profiles={
                r[0]: DeviceProfile(r[0], dict(r[1])) for r in rows("device_profiles_all")
            },
            assets={
                r[0]: Asset(r[0], r[1], r[2], r[3], dict(r[4]), dict(r[5]), bool(r[6]))
                for r in rows("assets_all")
            },
            terminals={r[0]: Terminal(*r) for r in rows("terminals_all")},
            bindings=[(int(r[0]), Binding(*r[1:])) for r in rows("bindings_all")],
            pledges=[(int(r[0]), Pledge(*r[1:])) for r in rows("pledges_all")],
            zones={
                r[0]: ZoneRecord(r[0], r[1], r[2], r[3], float(r[4]), r[5])
                for r in rows("zones_all")
            },
        )
    except psycopg.Error as exc:
        raise CollateralError(f"cannot read the registry: {exc}") from exc


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
            owner = (
                next(
                    (
                        o.device_id
                        for o in st.terminals.values()
                        if getattr(o, fld) == v and o.device_id != t.device_id
                    ),
                    None,
                )
                if v
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
    for i, z in enumerate(doc.zones):
        if z.asset_id not in assets:
            out.append(Problem(f"zones[{i}] ({z.id})", f"unknown asset_id {z.asset_id!r}"))
            continue
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


def export_document(conn: Conn) -> dict[str, Any]:
    """The whole registry as a registry file (``assetwatch-registry/1``)."""
    return to_document(read_state(conn).document())


def list_conflicts(
    conn: Conn, *, at: datetime | None = None, current: bool = True
) -> list[Conflict]:
    """Double pledges and double bindings; by default only those in force now."""
    when = (at or datetime.now(UTC)) if current or at else None
    return find_conflicts(*_conflict_inputs(read_state(conn)), at=when)


def _conflict_inputs(st: RegistryState) -> tuple[dict[str, Asset], list[Pledge], list[Binding]]:
    return st.assets, [p for _, p in st.pledges], [b for _, b in st.bindings]


# ------------------------------------------------------------- single changes
def bind(
    conn: Conn,
    device_id: str,
    asset_id: str,
    *,
    at: datetime,
    by: str,
    why: str,
    replace_open: bool = True,
) -> None:
    """Bind a terminal to an asset from ``at``; the terminal's open binding is closed then.

    With ``replace_open=False`` an open binding to another asset refuses the
    change with :class:`DoublePledgeError` instead.
    """
    with conn.transaction():
        conn.execute(query("collateral", "registry_lock"))
        st = read_state(conn)
        if device_id not in st.terminals:
            raise NotFound(f"terminal {device_id!r} is not registered")
        if asset_id not in st.assets:
            raise NotFound(f"asset {asset_id!r} is not registered")
        entries: list[AuditEntry] = []
        for row_id, b in st.bindings:
            if b.device_id == device_id and b.valid_to is None:
                if not replace_open and b.asset_id != asset_id:
                    raise DoublePledgeError(
                        f"terminal {device_id} is bound to {b.asset_id} since "
                        f"{b.valid_from.isoformat()}; unbind it first",
                    )
                if at <= b.valid_from:
                    raise RegistryError(
                        f"binding at {at.isoformat()} is not after the open one "
                        f"from {b.valid_from.isoformat()}"
                    )
                conn.execute(
                    query("collateral", "binding_close"),
                    {"id": row_id, "valid_to": at, "closed_by": by, "close_reason": why},
                )
                entries.append(
                    AuditEntry(
                        by,
                        "close",
                        "binding",
                        f"{device_id}/{b.asset_id}",
                        {"id": row_id, "valid_to": at, "why": why},
                    )
                )
        new = Binding(device_id, asset_id, at, None, by, why)
        _copy(conn, "bindings_copy", [new])
        entries.append(
            AuditEntry(by, "open", "binding", f"{device_id}/{asset_id}", {"new": _jsonable(new)})
        )
        audit.append_many(conn, entries)


def unbind(conn: Conn, device_id: str, *, at: datetime, by: str, why: str) -> None:
    """Close the terminal's open binding at ``at``."""
    with conn.transaction():
        conn.execute(query("collateral", "registry_lock"))
        st = read_state(conn)
        open_ = [(i, b) for i, b in st.bindings if b.device_id == device_id and b.valid_to is None]
        if not open_:
            raise NotFound(f"terminal {device_id!r} has no open binding")
        for row_id, b in open_:
            conn.execute(
                query("collateral", "binding_close"),
                {"id": row_id, "valid_to": at, "closed_by": by, "close_reason": why},
            )
            audit.append(
                conn,
                by,
                "close",
                "binding",
                f"{device_id}/{b.asset_id}",
                {"id": row_id, "valid_to": at, "why": why},
            )


def pledge(
    conn: Conn,
    asset_id: str,
    loan_id: str,
    *,
    at: datetime,
    by: str,
    why: str,
    allow_conflict: bool = False,
) -> list[Conflict]:
    """Pledge an asset to a loan from ``at``; refuses a double pledge unless allowed (flagged)."""
    doc = RegistryDocument(pledges=(Pledge(asset_id, loan_id, at, None, by, why),))
    return list(import_document(conn, doc, actor=by, allow_conflicts=allow_conflict).flagged)


def release(conn: Conn, asset_id: str, loan_id: str, *, at: datetime, by: str, why: str) -> None:
    """End the asset's open pledge to the loan at ``at``."""
    with conn.transaction():
        conn.execute(query("collateral", "registry_lock"))
        st = read_state(conn)
        open_ = [
            (i, p)
            for i, p in st.pledges
            if p.asset_id == asset_id and p.loan_id == loan_id and p.valid_to is None
        ]
        if not open_:
            raise NotFound(f"asset {asset_id!r} has no open pledge to loan {loan_id!r}")
        for row_id, _ in open_:
            conn.execute(
                query("collateral", "pledge_close"),
                {"id": row_id, "valid_to": at, "closed_by": by, "close_reason": why},
            )
            audit.append(
                conn,
                by,
                "close",
                "pledge",
                f"{asset_id}/{loan_id}",
                {"id": row_id, "valid_to": at, "why": why},
            )


def put_zone(conn: Conn, zone: ZoneRecord, *, by: str) -> None:
    """Create or replace one zone (validated; the old geometry stays in the audit log)."""
    import_document(conn, RegistryDocument(zones=(zone,)), actor=by)


def delete_zone(conn: Conn, zone_id: str, *, by: str, why: str) -> None:
    """Remove a zone; the audit entry keeps what it was."""
    with conn.transaction():
        st = read_state(conn)
        old = st.zones.get(zone_id)
        if old is None:
            raise NotFound(f"zone {zone_id!r} does not exist")
        conn.execute(query("collateral", "zone_delete"), {"id": zone_id})
        audit.append(conn, by, "delete", "zone", zone_id, {"old": _jsonable(old), "why": why})


def dumps(doc: dict[str, Any]) -> str:
    """Registry file text (stable key order, UTF-8)."""
    return json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=False)


__all__ = [
    "ImportResult",
    "RegistryState",
    "bind",
    "delete_zone",
    "dumps",
    "export_document",
    "import_document",
    "list_conflicts",
    "pledge",
    "put_zone",
    "read_state",
    "release",
    "unbind",
]
