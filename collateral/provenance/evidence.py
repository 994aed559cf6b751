"""The readings digest of a provenance report, from per-hour seals.

Each (terminal, hour) of raw readings has a SHA-256 over the canonical text of
its readings (see ``prov_hour_digests`` in ``collateral/sql/queries.sql``). A
report's readings digest is SHA-256 over the lines
``device_id|hour|count|hour_sha256`` of every hour with readings in its windows.

Hours older than the seal lag are sealed once (``evidence_seals``,
append-only) the first time a report covers them; later reports read the seals
instead of re-reading every reading, which is what keeps a 180-day report under
a second. Verification never uses seals: it recomputes every hour from the
readings, so a reading changed after sealing fails :func:`verify_report` for
every report that cites it. At build time a seal whose count differs from the
hour's rollup (readings added or removed since sealing) is reported as a
finding.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import psycopg

from collateral.errors import ProvenanceError
from telemetry.db import Conn
from telemetry.sqlfiles import query

#: Hours younger than this are digested live and not sealed: late batches
#: (store-and-forward, JT/T 808 blind-area backfill) may still arrive.
SEAL_LAG: Final = timedelta(hours=48)


@dataclass(frozen=True)
class HourDigest:
    device_id: str
    bucket: datetime
    readings: int
    sha256: str
    sealed: bool


@dataclass(frozen=True)
class Evidence:
    """The combined digest and what it was made of."""

    sha256: str
    readings: int
    hours: tuple[HourDigest, ...]
    mismatches: tuple[str, ...]  # seals that disagree with the rollups


def _parse(t: datetime | str) -> datetime:
    if isinstance(t, datetime):
        return t
    return datetime.fromisoformat(t.replace("Z", "+00:00"))


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def combine(hours: Sequence[HourDigest]) -> str:
    """SHA-256 over the hour lines, in the given order."""
    h = hashlib.sha256()
    for d in hours:
        h.update(f"{d.device_id}|{_iso(d.bucket)}|{d.readings}|{d.sha256}\n".encode())
    return h.hexdigest()


def live_hours(conn: Conn, device_id: str, start: datetime, end: datetime) -> list[HourDigest]:
    """Per-hour digests recomputed from the raw readings."""
    try:
        rows = conn.execute(
            query("collateral", "prov_hour_digests"),
            {"device_id": device_id, "start": start, "end": end},
        ).fetchall()
    except psycopg.Error as exc:
        raise ProvenanceError(f"cannot digest the readings: {exc}") from exc
    return [HourDigest(device_id, r[0], int(r[1]), str(r[2]), False) for r in rows]


def sealed_evidence(
    conn: Conn,
    windows: Sequence[dict[str, Any]],
    rollup_counts: dict[tuple[str, float], int],
    *,
    now: datetime | None = None,
    seal_lag: timedelta = SEAL_LAG,
) -> Evidence:
    """The report's digest: seals where they exist, live digests (sealed if old) elsewhere.

    ``rollup_counts`` maps (device, bucket epoch) to the readings the report's
    rollups counted, to notice seals that no longer match the data.
    """
    seal_before = (now or datetime.now(UTC)) - seal_lag
    out: list[HourDigest] = []
    mismatches: list[str] = []
    try:
        for w in windows:
            dev, start, end = w["device_id"], _parse(w["start"]), _parse(w["end"])
            seals = {
                r[0].timestamp(): HourDigest(dev, r[0], int(r[1]), str(r[2]), True)
                for r in conn.execute(
                    query("collateral", "prov_seals"),
                    {"device_id": dev, "start": start, "end": end},
                )
            }
            wanted = {
                b
                for (d, b) in rollup_counts
                if d == dev and start.timestamp() <= b < end.timestamp()
            }
            missing = sorted(wanted - set(seals))
            live: dict[float, HourDigest] = {}
            if missing:
                lo = datetime.fromtimestamp(missing[0], UTC)
                hi = datetime.fromtimestamp(missing[-1], UTC) + timedelta(hours=1)
                live = {
                    d.bucket.timestamp(): d
                    for d in live_hours(conn, dev, lo, hi)
                    if d.bucket.timestamp() not in seals
                }
                old = [d for d in live.values() if d.bucket + timedelta(hours=1) <= seal_before]
                if old:
                    conn.execute(
                        query("collateral", "prov_seal_insert"),
                        {
                            "device_id": dev,
                            "buckets": [d.bucket for d in old],
                            "counts": [d.readings for d in old],
                            "hashes": [d.sha256 for d in old],
                        },
                    )
            for b, s in seals.items():
                got = rollup_counts.get((dev, b), 0)
                if got != s.readings:
                    what = "removed since" if got < s.readings else "added after"
                    mismatches.append(
                        f"{dev} {_iso(s.bucket)}: readings {what} sealing "
                        f"({s.readings} sealed, {got} now)"
                    )
            merged = {**live, **seals}
            out.extend(merged[b] for b in sorted(merged))
    except psycopg.Error as exc:
        raise ProvenanceError(f"cannot read or write evidence seals: {exc}") from exc
    return Evidence(combine(out), sum(d.readings for d in out), tuple(out), tuple(mismatches))


def recomputed_evidence(conn: Conn, windows: Sequence[dict[str, Any]]) -> Evidence:
    """The digest recomputed from the readings alone (what verification trusts)."""
    out: list[HourDigest] = []
    for w in windows:
        out.extend(live_hours(conn, w["device_id"], _parse(w["start"]), _parse(w["end"])))
    return Evidence(combine(out), sum(d.readings for d in out), tuple(out), ())


def changed_hours(conn: Conn, windows: Sequence[dict[str, Any]], now: Evidence) -> list[str]:
    """Hours whose readings differ from their seal (for a failed verification's details)."""
    out: list[str] = []
    fresh = {(d.device_id, d.bucket.timestamp()): d for d in now.hours}
    for w in windows:
        dev, start, end = w["device_id"], _parse(w["start"]), _parse(w["end"])
        for r in conn.execute(
            query("collateral", "prov_seals"), {"device_id": dev, "start": start, "end": end}
        ):
            cur = fresh.get((dev, r[0].timestamp()))
            if cur is None or cur.sha256 != r[2]:
                out.append(
                    f"{dev} {_iso(r[0])}: readings differ from their seal "
                    f"({r[1]} sealed, {cur.readings if cur else 0} now)"
                )
    return out
