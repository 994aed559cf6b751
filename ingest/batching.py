"""The batch stage: processed messages gather until a size or age limit.

A batch is flushed when it holds ``ingest_batch_size`` readings or its oldest
message waited ``ingest_batch_max_age_ms``; it keeps each message's broker
acknowledgement (``mid``, ``qos``, connection generation) so the sink can
acknowledge exactly what it committed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ingest.pipeline import Work


@dataclass(slots=True)
class Batch:
    """Messages processed and waiting to be committed together."""

    works: list[Work] = field(default_factory=list)
    readings: int = 0
    started: float = 0.0

    def add(self, work: Work) -> None:
        if not self.works:
            self.started = time.monotonic()
        self.works.append(work)
        self.readings += len(work.readings)

    def __len__(self) -> int:
        return len(self.works)


class Batcher:
    """Decides when the open batch is due; hands it over and starts a new one."""

    def __init__(self, *, max_readings: int, max_age_s: float, max_messages: int) -> None:
        self._max_readings = max_readings
        self._max_age = max_age_s
        self._max_messages = max_messages
        self.batch = Batch()

    def add(self, work: Work) -> Batch | None:
        """Add one processed message; return the batch if it is now full."""
        self.batch.add(work)
        b = self.batch
        if b.readings >= self._max_readings or len(b.works) >= self._max_messages:
            return self.take()
        return None

    def due_in(self) -> float:
        """Seconds until the open batch must be flushed by age (inf when empty)."""
        if not self.batch.works:
            return float("inf")
        return max(0.0, self.batch.started + self._max_age - time.monotonic())

    def take(self) -> Batch:
        out, self.batch = self.batch, Batch()
        return out
