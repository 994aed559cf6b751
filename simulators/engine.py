"""The event loop: a heap of next-report times over every simulated terminal.

Each entry is either a device tick (the device measures, applies its scripted
incidents and schedules its next tick) or a delivery (a message whose
publication was deferred: a duplicate, a blind-area backfill, a heartbeat).
Ties break on insertion order, and every random choice comes from a stream
seeded by (seed, device), so the same seed and start give the same messages,
byte for byte, whatever the speed-up or the publisher.

Delivery realism lives here: messages lost on the way, duplicates, JT/T 808
blind-area backfills (0x0704 type 1) or JSON store-and-forward arrays that
arrive after the live fix that follows them, and satellite AIS terminals that
buffer fixes and send them every few hours, shuffled.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from simulators.codecs.aemp import aemp_json, aemp_xml
from simulators.codecs.ais import ais_lines
from simulators.codecs.chirpstack import chirpstack_uplink, topic_for
from simulators.codecs.jsonreading import json_batch, json_reading
from simulators.codecs.jt808 import FrameOptions, encode_batch, encode_heartbeat, encode_location
from simulators.devices import Device
from simulators.fixes import Fix
from simulators.portfolio import Terminal
from simulators.scenario import Noise
from simulators.timebase import DAY, HOUR, to_datetime

_TICK: Final = 0
_DELIVER: Final = 1
_JT808_BATCH: Final = 20


@dataclass(frozen=True, slots=True)
class SimMessage:
    """One MQTT publication: topic, payload, the event time it carries, when it is sent.

    ``send_time`` (epoch seconds, simulated) orders the stream; ``event_time``
    is the device clock of the newest reading inside (a batch may hold older
    ones). ``kind`` is ``reading``, ``batch``, ``heartbeat`` or ``duplicate``.
    ``fixes`` are the measurements inside, for tests and evaluation.
    """

    topic: str
    payload: bytes
    event_time: datetime
    send_time: float
    device_id: str
    kind: str
    fixes: tuple[Fix, ...] = ()

    def __iter__(self) -> Iterator[object]:
        """Unpacks as ``(topic, payload, event_time)``."""
        return iter((self.topic, self.payload, self.event_time))


class Channel:
    """How one terminal's fixes become messages (format, batching, noise on delivery)."""

    def __init__(self, device: Device, noise: Noise, *, seed: int) -> None:
        self.device = device
        term: Terminal = device.term
        self.term = term
        self.noise = noise
        self.rng = random.Random(f"assetwatch-delivery:{seed}:{term.device_id}")
        did = term.device_id
        self.topic = {
            "json": f"assetwatch/{did}/telemetry",
            "jt808": f"assetwatch/{did}/jt808",
            "ais": f"assetwatch/{did}/ais",
            "aemp": f"assetwatch/{did}/aemp",
            "lorawan": topic_for(term.dev_eui or ""),
        }[term.protocol]
        self.jt = FrameOptions(term.jt808_phone or "0", term.jt808_2019, 1, device.tank_l)
        self.buffer: list[Fix] = []
        self.blind_start = self.blind_end = 0.0
        self.blind_rate = noise.blind_area_per_day if term.role == "tracker" else 0.0
        self.sat_flush = 0.0
        self.serial = 1

    def next_blind(self, after: float) -> None:
        if self.blind_rate <= 0:
            self.blind_start = self.blind_end = float("inf")
            return
        self.blind_start = after + self.rng.expovariate(self.blind_rate / DAY)
        self.blind_end = self.blind_start + self.rng.uniform(
            120.0, max(120.0, self.noise.blind_area_max_s)
        )

    def encode(self, fixes: list[Fix], *, batch: bool) -> list[bytes]:
        term, dev = self.term, self.device
        proto = term.protocol
        if proto == "json":
            return [json_batch(fixes) if batch else json_reading(fixes[0])]
        if proto == "jt808":
            if batch:
                frames = encode_batch(fixes, self.serial, self.jt)
                self.serial += len(frames)
                return frames
            return [encode_location(fixes[0], self.jt)]
        if proto == "ais":
            return [ais_lines(fixes, int(term.mmsi or 0), class_b=dev.asset.kind == "fishing")]
        if proto == "aemp":
            enc = aemp_xml if term.aemp_xml else aemp_json
            return [enc(f, dev.asset.identity, term.device_id) for f in fixes]
        return [
            chirpstack_uplink(
                f,
                dev_eui=term.dev_eui or "",
                profile=term.device_profile or "",
                device_name=term.device_id,
                f_cnt=f.seq,
            )
            for f in fixes
        ]


class EventLoop:
    """Runs channels over [start, end) and yields messages in send-time order."""

    def __init__(self, channels: list[Channel], *, start: float, end: float) -> None:
        self.channels = channels
        self.start = start
        self.end = end
        self.published = 0

    def run(self) -> Iterator[SimMessage]:
        heap: list[tuple[float, int, int, int, SimMessage | None]] = []
        order = 0
        for idx, ch in enumerate(self.channels):
            first = self.start + ch.rng.uniform(0, ch.device.interval(False, False))
            heap.append((first, order, _TICK, idx, None))
            order += 1
            ch.next_blind(self.start)
            ch.sat_flush = self.start + ch.rng.uniform(3, 5) * HOUR
        heapq.heapify(heap)
        end = self.end
        push, pop = heapq.heappush, heapq.heappop
        while heap:
            t, _o, what, idx, msg = pop(heap)
            if t >= end:
                break
            if what == _DELIVER:
                assert msg is not None
                yield msg
                continue
            ch = self.channels[idx]
            dev = ch.device
            fix, nxt = dev.tick(t)
            if nxt < end:
                push(heap, (nxt, order, _TICK, idx, None))
                order += 1
            if fix is None:
                continue
            noise, rng = ch.noise, ch.rng
            term = ch.term
            if term.satellite:
                ch.buffer.append(fix)
                if t >= ch.sat_flush:
                    batch = ch.buffer[:]
                    rng.shuffle(batch)
                    ch.buffer.clear()
                    ch.sat_flush = t + rng.uniform(3, 5) * HOUR
                    for payload in ch.encode(batch, batch=True):
                        yield SimMessage(
                            ch.topic,
                            payload,
                            to_datetime(max(f.t for f in batch)),
                            t,
                            term.device_id,
                            "batch",
                            tuple(batch),
                        )
                continue
            if ch.blind_start <= t < ch.blind_end:
                ch.buffer.append(fix)  # no network: the terminal keeps it for backfill
                continue
            if t >= ch.blind_end:
                backlog = ch.buffer[:]
                ch.buffer.clear()
                ch.next_blind(t)
            else:
                backlog = []
            if noise.dropout_p and rng.random() < noise.dropout_p:
                continue
            payload = ch.encode([fix], batch=False)[0]
            out = SimMessage(
                ch.topic, payload, to_datetime(fix.t), t, term.device_id, "reading", (fix,)
            )
            yield out
            if noise.duplicate_p and rng.random() < noise.duplicate_p:
                dup = SimMessage(
                    out.topic,
                    payload,
                    out.event_time,
                    t + rng.uniform(0.5, 30.0),
                    out.device_id,
                    "duplicate",
                    out.fixes,
                )
                push(heap, (dup.send_time, order, _DELIVER, idx, dup))
                order += 1
            if backlog:
                at = t + rng.uniform(2.0, 20.0)
                # JT/T 808 bodies are limited to 1023 bytes: 20 items per 0x0704 frame always fit,
                # and each message then knows exactly which fixes it carries.
                size = _JT808_BATCH if term.protocol == "jt808" else len(backlog)
                for k in range(0, len(backlog), size):
                    part = backlog[k : k + size]
                    for p in ch.encode(part, batch=True):
                        m = SimMessage(
                            ch.topic,
                            p,
                            to_datetime(part[-1].t),
                            at,
                            term.device_id,
                            "batch",
                            tuple(part),
                        )
                        push(heap, (at, order, _DELIVER, idx, m))
                        order += 1
            if term.protocol == "jt808" and not fix.ignition and nxt - t > 120:
                hb = SimMessage(
                    ch.topic,
                    encode_heartbeat(fix.seq + 0x8000, ch.jt),
                    to_datetime(fix.t + (nxt - t) / 2),
                    t + (nxt - t) / 2,
                    term.device_id,
                    "heartbeat",
                )
                push(heap, (hb.send_time, order, _DELIVER, idx, hb))
                order += 1
