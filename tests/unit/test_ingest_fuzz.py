"""No byte sequence on any topic crashes or stalls the decode and validate stages.

For each format, hypothesis feeds at least 10,000 payloads (random bytes,
random JSON for the JSON-based formats, and mutations of valid seeds: flipped,
inserted, deleted and truncated bytes) through the pipeline in-process. Every
message must come out as readings that pass the store's checks, a dead letter
with a reason, a quarantine entry, or nothing; never an exception.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assetwatch.settings import Settings
from ingest.pipeline import Message, Pipeline
from ingest.registry import snapshot_of, static_registry
from telemetry.model import check_reading
from tests.jt808_frames import batch_body, extra, frame, location_body

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EXAMPLES = 105  # x (2 drawn + 98 expanded) payloads = 10,500 per format
EXPANDED = 98

SEEDS: dict[str, tuple[str, list[bytes]]] = {
    "telemetry": (
        "assetwatch/T1/telemetry",
        [
            orjson.dumps(
                {
                    "ts": "2026-03-02T08:59:00Z",
                    "seq": 1,
                    "lat": 31.2,
                    "lon": 121.4,
                    "speed_kmh": 30.5,
                    "ignition": True,
                    "metrics": {"activity": 0.5},
                }
            ),
            orjson.dumps([{"ts": 1772438400000, "seq": i, "fuel_pct": 50} for i in range(3)]),
        ],
    ),
    "jt808": (
        "assetwatch/V1/jt808",
        [
            frame(
                0x0200,
                location_body(
                    NOW - timedelta(minutes=1),
                    alarm=0x10000120,
                    extras=extra(0x01, b"\x00\x01\x02\x03") + extra(0x31, b"\x09"),
                ),
            ),
            frame(0x0704, batch_body([location_body(NOW - timedelta(hours=3))] * 2)),
            frame(0x0002, b""),
        ],
    ),
    "ais": (
        "assetwatch/S1/ais",
        [
            b"!AIVDM,1,1,,A,15NG6V0P01G?cFhE`R2IU?wn28R>,0*05",
            b"\\s:2573135,c:1772438400*0B\\!AIVDM,1,1,,B,B5NJ;PP005l4ot5Isbl03wsUkP06,0*76",
            b"!AIVDM,2,1,4,A,55O0W7`00001L@gCWGA2uItLth@DqtL5@F22220j1h742t0Ht0000000,0*08\n"
            b"!AIVDM,2,2,4,A,000000000000000,2*20",
        ],
    ),
    "aemp": (
        "assetwatch/E1/aemp",
        [
            b"<Fleet><Equipment><EquipmentHeader><SerialNumber>SN-1</SerialNumber></EquipmentHeader>"
            b'<Location datetime="2026-03-02T08:00:00Z"><Latitude>31.1</Latitude>'
            b"<Longitude>121.3</Longitude></Location><CumulativeOperatingHours>"
            b"<Hour>15.5</Hour><datetime>2026-03-02T08:00:00Z</datetime>"
            b"</CumulativeOperatingHours></Equipment></Fleet>",
            orjson.dumps(
                {
                    "Equipment": [
                        {
                            "EquipmentHeader": {"SerialNumber": "SN-1"},
                            "EngineStatus": {"Running": True, "datetime": "2026-03-02T08:00:00Z"},
                            "FuelUsed": {
                                "FuelConsumed": 3,
                                "FuelUnits": "litre",
                                "datetime": "2026-03-02T08:00:00Z",
                            },
                        }
                    ]
                }
            ),
        ],
    ),
    "lorawan": (
        "application/1/device/0102030405060708/event/up",
        [
            orjson.dumps(
                {
                    "time": "2026-03-02T08:59:58Z",
                    "fCnt": 3,
                    "deviceInfo": {"devEui": "0102030405060708"},
                    "object": {"latitude": 45.0, "longitude": 7.0, "act": 0.2},
                    "rxInfo": [{"rssi": -100, "snr": 5}],
                }
            ),
        ],
    ),
}


def _pipeline() -> Pipeline:
    registry = static_registry(
        snapshot_of(
            [
                {"device_id": "T1"},
                {"device_id": "V1", "jt808_phone": "013800000001"},
                {"device_id": "S1", "mmsi": "367380120"},
                {"device_id": "E1", "aemp_serial": "SN-1"},
                {
                    "device_id": "L1",
                    "dev_eui": "0102030405060708",
                    "profile": {"lat": "latitude", "lon": "longitude", "metrics.activity": "act"},
                },
            ]
        )
    )
    return Pipeline(Settings(), registry, clock=lambda: NOW)


def _mutate(seed: bytes, ops: list[tuple[int, int, int, bytes]]) -> bytes:
    data = bytearray(seed)
    for kind, pos, length, blob in ops:
        at = pos % (len(data) + 1)
        if kind == 0 and data:
            data[at % len(data)] ^= 1 << (length % 8)
        elif kind == 1:
            data[at:at] = blob
        elif kind == 2:
            del data[at : at + length]
        elif kind == 3:
            del data[at:]
        elif kind == 4 and data:
            data[at % len(data)] = blob[0] if blob else 0
    return bytes(data)


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=True)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6)
    ),
    max_leaves=20,
)
_keys = st.sampled_from(
    [
        "ts",
        "seq",
        "lat",
        "lon",
        "hdop",
        "sats",
        "ignition",
        "metrics",
        "device_id",
        "deviceInfo",
        "object",
        "time",
        "Equipment",
        "EquipmentHeader",
        "fuel_pct",
    ]
)
_op = st.tuples(
    st.integers(0, 4), st.integers(0, 10_000), st.integers(0, 64), st.binary(max_size=8)
)


def _expand(rng: random.Random, seeds: list[bytes]) -> list[bytes]:
    """Cheap bulk payloads from one drawn PRNG seed: random bytes and seed mutations.

    Hypothesis draws (and on failure shrinks) the PRNG seed and a few payloads of
    its own; expanding each example here keeps 10,000 payloads per format fast.
    """
    out: list[bytes] = []
    for i in range(EXPANDED):
        if i % 3 == 0:
            out.append(rng.randbytes(rng.randint(0, 400)))
            continue
        ops = [
            (
                rng.randint(0, 4),
                rng.randint(0, 10_000),
                rng.randint(0, 64),
                rng.randbytes(rng.randint(0, 8)),
            )
            for _ in range(rng.randint(1, 4))
        ]
        out.append(_mutate(rng.choice(seeds), ops))
    return out


@pytest.mark.parametrize("fmt", sorted(SEEDS))
def test_no_payload_crashes_or_stalls_ingest(fmt: str) -> None:
    topic = SEEDS[fmt][0]
    p = _pipeline()
    seen = {"payloads": 0, "readings": 0, "rejected": 0}
    seeds = SEEDS[fmt][1]
    mutated = st.builds(_mutate, st.sampled_from(seeds), st.lists(_op, min_size=1, max_size=4))
    structured = st.dictionaries(_keys, _json, max_size=6).map(orjson.dumps)

    @settings(
        max_examples=EXAMPLES,
        deadline=5000,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.integers(0, 2**32), mutated, structured | st.binary(max_size=400))
    def run(prng_seed: int, one: bytes, two: bytes) -> None:
        payloads = [one, two, *_expand(random.Random(prng_seed), seeds)]
        for payload in payloads:
            work = p.process(Message(topic, payload, NOW))
            seen["payloads"] += 1
            seen["readings"] += len(work.readings)
            seen["rejected"] += len(work.rejected)
            for r in work.readings:
                check_reading(r, now=NOW, max_future_skew=timedelta(minutes=5))
            for rej in work.rejected:
                assert rej.reason
                assert rej.stage in {"decode", "validate", "identify"}

    run()
    assert seen["payloads"] >= 10_000
    assert seen["rejected"] > 0
    # The seeds themselves decode, so the mutations start from real messages.
    for seed in SEEDS[fmt][1]:
        assert not p.process(Message(topic, seed, NOW)).rejected, seed
