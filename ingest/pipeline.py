"""The ingest pipeline, declared in one place.

    decode -> validate -> identify -> dedupe          (per message, this module)
           -> batch -> write -> commit hook -> ack    (``ingest.batching``, ``ingest.sink``)

Each per-message stage is a small function ``stage(work) -> work | None``: it
returns the work item (possibly changed) or ``None`` when it has filtered the
message out entirely; it raises :class:`~ingest.errors.RejectError` when the
message must go to ``dead_letters`` (the stage name goes with it) or
adds to ``work.quarantined`` when the terminal is not registered. Readings that survive
are batched and written by the store's COPY writer inside one transaction with
the dead letters, the quarantined messages and the commit hook; the broker is
acknowledged after that transaction commits.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Final

from assetwatch.settings import Settings
from ingest.codecs import aemp, chirpstack, jsonreading, jt808
from ingest.codecs.ais import AisDecoder
from ingest.codecs.base import DecodeContext, Decoded, Group
from ingest.errors import DecodeError, RejectError, ValidationError
from ingest.registry import RegistryCache
from telemetry.errors import ReadingRangeError
from telemetry.model import EPOCH_FLOOR, Reading, check_reading_until

_DEVICE_ID: Final = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_DEV_EUI: Final = re.compile(r"[0-9A-Fa-f]{16}")


@dataclass(slots=True)
class Message:
    """One MQTT message as taken from the broker (``mid``/``qos`` for the acknowledgement).

    Not changed after it is built (not declared frozen: see :class:`~telemetry.model.Reading`).
    """

    topic: str
    payload: bytes
    received_at: datetime
    mid: int = 0
    qos: int = 0
    generation: int = 0


@dataclass(frozen=True, slots=True)
class Rejected:
    """A message kept in ``dead_letters``; ``code`` labels the metric."""

    message: Message
    stage: str
    code: str
    reason: str
    device_id: str | None = None


@dataclass(frozen=True, slots=True)
class Quarantined:
    """A message from a terminal the registry does not know (yet)."""

    message: Message
    id_kind: str
    identifier: str
    reason: str


@dataclass(slots=True)
class Work:
    """A message on its way through the stages."""

    message: Message
    device: str = ""
    format: str = ""
    decoded: Decoded | None = None
    readings: list[Reading] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)
    position_dropped: int = 0
    duplicates: int = 0
    #: Not the first piece of a message whose readings went to several writers.
    part: bool = False


Stage = Callable[[Work], "Work | None"]


def message_id(payload: bytes) -> str:
    """A stable id of one message's content (the same after a redelivery)."""
    return hashlib.blake2b(payload, digest_size=8).hexdigest()


class RecentKeys:
    """Recent dedup keys, for dropping redeliveries before the database does.

    Two generations of up to ``size`` / 2 keys each: when the newer fills, the
    older is dropped whole and the newer takes its place. A key is remembered
    for at least the next ``size`` / 2 keys added and at most ``size``, and
    memory stays bounded by ``size`` keys (plus one message's). Dropping a
    whole generation replaces per-key eviction (a deque append, pop and set
    discard per key cost as much as the lookup); :meth:`unseen` checks a
    message's keys with C-level set operations. ``size`` 0 remembers nothing.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._generation = max(1, (size + 1) // 2)
        self._new: set[object] = set()
        self._old: set[object] = set()

    def seen(self, key: object) -> bool:
        """True if ``key`` was added recently; otherwise remember it."""
        if key in self._new or key in self._old:
            return True
        if self._size:
            self._new.add(key)
            self._turn()
        return False

    def unseen(self, keys: Sequence[object]) -> list[int] | None:
        """Positions of the keys not seen before (remembering them); None if that is all."""
        distinct = set(keys)
        if (
            len(distinct) == len(keys)
            and distinct.isdisjoint(self._new)
            and distinct.isdisjoint(self._old)
        ):
            if self._size:
                self._new |= distinct
                self._turn()
            return None
        seen = self.seen
        return [n for n, key in enumerate(keys) if not seen(key)]

    def _turn(self) -> None:
        if len(self._new) >= self._generation:
            self._old, self._new = self._new, set()


def dedup_key(r: Reading) -> object:
    """Equal keys mean the store would treat the readings as the same one.

    The store's key is ``seq`` when the terminal sends one, else a content hash;
    without ``seq`` this key is the full content, so it never merges readings
    the store keeps apart (it may miss some the store merges: the store's
    unique constraint is the backstop).
    """
    if r.seq is not None:
        return (r.device_id, r.ts, r.seq)
    return (
        r.device_id,
        r.ts,
        r.lat,
        r.lon,
        r.alt_m,
        r.speed_kmh,
        r.heading_deg,
        r.hdop,
        r.sats,
        r.ignition,
        r.engine_on,
        r.engine_hours,
        r.odometer_km,
        r.fuel_pct,
        r.battery_v,
        r.ext_power,
        r.tamper,
        r.alarms,
        tuple(sorted(r.metrics.items())),
    )


class Pipeline:
    """The per-message stages, built once from the settings.

    ``clock`` gives the server time used by the future-skew check (injectable
    for tests); the registry cache resolves terminals.
    """

    def __init__(
        self,
        settings: Settings,
        registry: RegistryCache,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._skew = timedelta(seconds=settings.max_future_skew_s)
        self._late_after = timedelta(seconds=settings.late_after_s)
        self._max_payload = settings.ingest_max_payload_bytes
        self._max_hdop = settings.ingest_max_hdop
        self._registry = registry
        self._clock = clock
        self._recent = RecentKeys(settings.ingest_dedupe_window)
        self._routes: dict[str, tuple[str, str] | DecodeError] = {}
        self._ais = AisDecoder()
        self._decoders: dict[str, Callable[[bytes, DecodeContext], Decoded]] = {
            "telemetry": jsonreading.decode,
            "jt808": jt808.decode,
            "ais": self._ais.decode,
            "aemp": aemp.decode,
            "lorawan": chirpstack.decode,
        }
        #: The stages, in order. Batch, write, commit hook and ack follow in the sink.
        self.stages: tuple[tuple[str, Stage], ...] = (
            ("decode", self.decode),
            ("validate", self.validate),
            ("identify", self.identify),
            ("dedupe", self.dedupe),
        )

    # -- driver --------------------------------------------------------------
    def process(self, message: Message) -> Work:
        """Run one message through every stage; the result says what to write and keep."""
        work = Work(message)
        for name, stage in self.stages:
            try:
                after = stage(work)
            except RejectError as exc:
                return self._reject(message, name, exc, work)
            if after is None:
                return Work(message, device=work.device, format=work.format)
            work = after
        return work

    @staticmethod
    def _reject(message: Message, stage: str, exc: RejectError, work: Work) -> Work:
        out = Work(message, device=work.device, format=work.format)
        out.rejected.append(Rejected(message, stage, exc.code, exc.reason, work.device or None))
        return out

    # -- stages --------------------------------------------------------------
    def decode(self, work: Work) -> Work:
        """Route by topic and decode the payload into readings (types checked)."""
        msg = work.message
        if len(msg.payload) > self._max_payload:
            raise DecodeError("too_large", f"payload of {len(msg.payload)} bytes is too large")
        route = self._routes.get(msg.topic)
        if route is None:
            route = self._route(msg.topic)
            if len(self._routes) > 100_000:  # bounded: topics are per device
                self._routes.clear()
            self._routes[msg.topic] = route
        if isinstance(route, DecodeError):
            raise DecodeError(route.code, route.reason)  # a fresh one: no traceback build-up
        device, fmt = route
        work.device, work.format = device, fmt
        ctx = DecodeContext(
            msg.topic,
            device,
            msg.received_at,
            self._late_after,
            message_id(msg.payload),
            self._registry.snapshot.profile_for if fmt == "lorawan" else None,
        )
        decoded = work.decoded = self._decoders[fmt](msg.payload, ctx)
        groups = decoded.groups
        if len(groups) == 1:
            work.readings = list(groups[0].readings)
        else:
            work.readings = [r for g in groups for r in g.readings]
        return work

    def _route(self, topic: str) -> tuple[str, str] | DecodeError:
        """(device, format) of a topic, or the error naming why it is not an ingest topic."""
        parts = topic.split("/")
        if len(parts) == 3 and parts[0] == "assetwatch":
            device, fmt = parts[1], parts[2]
            if fmt not in self._decoders or fmt == "lorawan":
                return DecodeError("topic", f"unknown message kind {fmt[:32]!r} in the topic")
            if not _DEVICE_ID.fullmatch(device):
                return DecodeError(
                    "topic", f"device id {device[:70]!r} is not [A-Za-z0-9_.-]{{1,64}}"
                )
            return device, fmt
        if (
            len(parts) == 6
            and parts[0] == "application"
            and parts[2] == "device"
            and parts[4:] == ["event", "up"]
        ):
            if not _DEV_EUI.fullmatch(parts[3]):
                return DecodeError("topic", f"DevEUI {parts[3][:40]!r} is not 16 hex digits")
            return parts[3], "lorawan"
        return DecodeError("topic", f"topic {topic[:100]!r} is not an ingest topic")

    def validate(self, work: Work) -> Work:
        """Range and time checks; position quality. Bad readings are dropped, the message kept."""
        skew = self._skew
        latest = self._clock() + skew
        good: list[Reading] = []
        bad: list[ReadingRangeError] = []
        floor = EPOCH_FLOOR
        # Ranges the decoder enforced (Decoded.ranges_checked) are not checked
        # twice; a reading failing what is left gets the full check, which
        # names the field.
        checked = work.decoded is not None and work.decoded.ranges_checked
        for r in work.readings:
            if not (checked and floor <= r.ts <= latest and (r.lat is None) is (r.lon is None)):
                try:
                    check_reading_until(r, latest, skew)
                except ReadingRangeError as exc:
                    bad.append(exc)
                    continue
            if r.lat is not None and not self._position_ok(r):
                r = replace(r, lat=None, lon=None, alt_m=None, speed_kmh=None, heading_deg=None)
                work.position_dropped += 1
            good.append(r)
        if bad:
            code = f"range:{bad[0].field.split('.')[0]}"
            reason = f"{len(bad)} of {len(work.readings)} readings rejected; first: {bad[0]}"
            if not good:
                raise ValidationError(code, reason)
            work.rejected.append(Rejected(work.message, "validate", code, reason, work.device))
        work.readings = good
        return work

    def _position_ok(self, r: Reading) -> bool:
        if r.lat == 0.0 and r.lon == 0.0:  # "null island": a receiver with no fix
            return False
        if r.hdop is not None and r.hdop > self._max_hdop:
            return False
        return r.sats is None or r.sats >= 3

    def identify(self, work: Work) -> Work:
        """Resolve each identifier to a registered terminal; unknown ones are quarantined."""
        decoded = work.decoded
        assert decoded is not None
        snapshot = self._registry.snapshot
        if len(decoded.groups) == 1:  # the common case: one terminal per message
            group = decoded.groups[0]
            term = snapshot.find(group.kind, group.identifier)
            if term is not None and term.device_id == group.identifier == work.device:
                return work
        renamed: list[Reading] = []
        unknown: list[Group] = []
        for group in decoded.groups:
            term = snapshot.find(group.kind, group.identifier)
            if term is None and self._registry.refresh_on_miss():
                snapshot = self._registry.snapshot
                term = snapshot.find(group.kind, group.identifier)
            if term is None:
                unknown.append(group)
                continue
            if decoded.topic_bound and term.device_id != work.device:
                raise RejectError(
                    "identity_mismatch",
                    f"topic names device {work.device!r} but the payload's {group.kind}"
                    f" {group.identifier} belongs to {term.device_id!r}",
                )
            if term.device_id != group.identifier:
                renamed.extend(
                    replace(r, device_id=term.device_id)
                    for r in work.readings
                    if r.device_id == group.identifier
                )
            else:
                renamed.extend(r for r in work.readings if r.device_id == group.identifier)
        if unknown:
            kinds = ", ".join(f"{g.kind} {g.identifier}" for g in unknown[:5])
            work.quarantined.append(
                Quarantined(
                    work.message,
                    unknown[0].kind,
                    unknown[0].identifier,
                    f"unknown terminal: {kinds}",
                )
            )
        work.readings = renamed
        return work

    def dedupe(self, work: Work) -> Work:
        """Drop readings already seen in the recent window (redeliveries, repeated batches)."""
        rs = work.readings
        fresh = self._recent.unseen(list(map(dedup_key, rs)))
        if fresh is not None:
            work.duplicates += len(rs) - len(fresh)
            work.readings = [rs[n] for n in fresh]
        return work


def summarise(works: Sequence[Work]) -> tuple[int, int, int]:
    """(readings, rejected, quarantined) over a batch of processed messages."""
    return (
        sum(len(w.readings) for w in works),
        sum(len(w.rejected) for w in works),
        sum(len(w.quarantined) for w in works),
    )
