"""Dead letters: messages the pipeline could not store, kept with reason and stage.

Operators see them in ``dead_letters`` (``assetwatch status``, the gateway's
rejects pages); nothing the broker delivered is dropped silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import psycopg

from telemetry.db import Conn
from telemetry.errors import TelemetryError
from telemetry.sqlfiles import query

#: Where in the pipeline a message was refused.
STAGES: Final = frozenset({"decode", "validate", "identify", "write"})


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message the pipeline could not store, kept with the reason and the stage."""

    reason: str
    stage: str
    payload: bytes | None = None
    topic: str | None = None
    device_id: str | None = None
    received_at: datetime | None = None


def dead_letter(conn: Conn, letter: DeadLetter) -> int:
    """Store one dead letter (in the caller's transaction) and return its id."""
    _check_stage(letter.stage)
    try:
        row = conn.execute(
            query("telemetry", "dead_letter_insert"),
            {
                "received_at": letter.received_at,
                "topic": letter.topic,
                "payload": letter.payload,
                "reason": letter.reason,
                "stage": letter.stage,
                "device_id": letter.device_id,
            },
        ).fetchone()
    except psycopg.Error as exc:
        raise TelemetryError(f"writing a dead letter failed: {exc}") from exc
    assert row is not None
    return int(row[0])


def dead_letters(conn: Conn, letters: Sequence[DeadLetter]) -> int:
    """Store many dead letters with one COPY (in the caller's transaction)."""
    if not letters:
        return 0
    now = _utc_now()
    for letter in letters:
        _check_stage(letter.stage)
    try:
        with conn.cursor() as cur, cur.copy(query("telemetry", "dead_letter_copy")) as copy:
            copy.set_types(["timestamptz", "text", "bytea", "text", "text", "text"])
            for d in letters:
                copy.write_row(
                    (d.received_at or now, d.topic, d.payload, d.reason, d.stage, d.device_id)
                )
    except psycopg.Error as exc:
        raise TelemetryError(f"writing dead letters failed: {exc}") from exc
    return len(letters)


def _check_stage(stage: str) -> None:
    if stage not in STAGES:
        raise ValueError(f"dead-letter stage {stage!r} is not one of {sorted(STAGES)}")
