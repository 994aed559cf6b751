"""The JSON decoder's msgspec fast path gives what the key-by-key path gives.

``ingest.codecs.jsonreading.decode`` tries msgspec first and falls back to
``decode_checked`` (orjson and a loop over the keys) for anything msgspec
refuses. Random payloads - contract keys with values of every JSON type,
unknown keys, arrays, ``null`` everywhere, integers past 64 bits, and byte
mutations of valid readings - must come out of both as equal readings or as
the same error (code and reason).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.codecs import jsonreading
from ingest.codecs.base import DecodeContext, Decoded
from ingest.errors import DecodeError

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CTX = DecodeContext("assetwatch/T1/telemetry", "T1", NOW, timedelta(minutes=5), "m1")
KEYS = [*jsonreading._FIELDS, "ts", "metrics", "device_id", "note", "diag"]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["T1", "T2", "2026-03-02T08:59:00Z", "2026-03-02T08:59:00", "x"]),
    st.integers(min_value=0, max_value=1_900_000_000_000),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
objects = st.dictionaries(st.sampled_from(KEYS), values, max_size=8)
good_ts = st.one_of(
    st.just("2026-03-02T08:59:00Z"),
    st.just("2026-03-02T08:59:00.250+08:00"),
    st.integers(min_value=0, max_value=1_900_000_000_000),
)
readings = st.fixed_dictionaries(
    {"ts": good_ts},
    optional={
        "seq": st.integers(min_value=0, max_value=2**40),
        "lat": st.floats(-90, 90) | st.integers(-90, 90),
        "odometer_km": st.integers(0, 2**63 - 1) | st.floats(0, 1e12),
        "lon": st.floats(-180, 180),
        "ignition": st.booleans() | st.none(),
        "sats": st.integers(0, 40),
        "metrics": st.dictionaries(st.sampled_from(["activity", "power_kw"]), st.floats(0, 9)),
        "device_id": st.just("T1"),
    },
)


def outcome(fn: Any, payload: bytes) -> Decoded | tuple[str, str]:
    try:
        out: Decoded = fn(payload, CTX)
    except DecodeError as exc:
        return (exc.code, exc.reason)
    return out


def check_same(payload: bytes) -> None:
    assert outcome(jsonreading.decode, payload) == outcome(jsonreading.decode_checked, payload)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(objects, st.lists(objects, max_size=3), values))
def test_random_documents_decode_the_same_on_both_paths(doc: Any) -> None:
    check_same(json.dumps(doc).encode())


@settings(max_examples=1000, deadline=None)
@given(st.one_of(readings, st.lists(readings, min_size=1, max_size=4)))
def test_valid_readings_take_the_fast_path_and_match(doc: Any) -> None:
    payload = orjson.dumps(doc)
    fast = jsonreading.decode(payload, CTX)
    assert fast == jsonreading.decode_checked(payload, CTX)
    for r in (r for g in fast.groups for r in g.readings):
        assert isinstance(r.lat, float | None)
        assert isinstance(r.odometer_km, float | None)


@settings(max_examples=1500, deadline=None)
@given(readings, st.data())
def test_mutated_payloads_decode_the_same_on_both_paths(doc: Any, data: st.DataObject) -> None:
    raw = bytearray(orjson.dumps(doc))
    for _ in range(data.draw(st.integers(1, 3))):
        if not raw:
            break
        i = data.draw(st.integers(0, len(raw) - 1))
        op = data.draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        if op == "flip":
            raw[i] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "insert":
            raw.insert(i, data.draw(st.integers(0, 255)))
        elif op == "delete" and len(raw) > 1:
            del raw[i]
        else:
            del raw[i:]
    check_same(bytes(raw))


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b'{"ts": null}', "missing_ts"),
        (b'{"lat": 1}', "missing_ts"),
        (b'{"ts": true}', "bad_ts"),
        (b'{"ts": "2026-03-02T08:59:00"}', "bad_ts"),
        (b'{"ts": 1, "metrics": null}', "bad_field"),
        (b'{"ts": 1, "metrics": {"a": true}}', "bad_field"),
        (b'{"ts": 1, "device_id": null}', "device_mismatch"),
        (b'{"ts": 1, "device_id": "T2"}', "device_mismatch"),
        (b'{"ts": 1, "seq": 1.5}', "bad_field"),
        (b'{"ts": 1, "sats": true}', "bad_field"),
        (b'{"ts": 1, "lat": "31"}', "bad_field"),
        (b"[]", "empty_batch"),
        (b"[1]", "not_object"),
        (b"7", "not_object"),
        (b'{"ts": 1', "json_syntax"),
        (b'{"ts": 1, "seq": 123456789012345678901234}', "bad_field"),
        (b'{"ts": 1, "sats": 18446744073709551616}', "bad_field"),
        (b'{"ts": -9223372036854775809}', "bad_ts"),
    ],
)
def test_named_errors_are_the_key_by_key_paths(payload: bytes, code: str) -> None:
    with pytest.raises(DecodeError) as fast:
        jsonreading.decode(payload, CTX)
    assert fast.value.code == code
    check_same(payload)


def test_both_paths_read_the_same_fields() -> None:
    """``_Wire`` (msgspec) and ``_FIELDS`` (key by key) declare the contract twice: keep
    them equal, or a field one path reads would be ignored by the other."""
    kinds: dict[Any, int] = {
        float: jsonreading._NUM,
        int: jsonreading._INT,
        bool: jsonreading._BOOL,
    }
    wire: dict[str, int] = {}  # the optional measurements: "T | None", T possibly Annotated
    for f in msgspec.structs.fields(jsonreading._Wire):
        args: tuple[Any, ...] = getattr(f.type, "__args__", ())
        if len(args) == 2 and args[1] is type(None):
            wire[f.name] = kinds[getattr(args[0], "__origin__", args[0])]
    assert wire == jsonreading._FIELDS
    names = {f.name for f in msgspec.structs.fields(jsonreading._Wire)}
    assert names == {*jsonreading._FIELDS, "ts", "metrics", "device_id"}
