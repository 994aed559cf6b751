"""Detector state as JSON: dataclasses of floats, ints, strings and tuples.

States are checkpointed into ``detector_state`` (JSON text) inside the ingest's
write transaction, so they must round-trip exactly and stay small (<= 2 KB).
Encoding is on the ingest's hot path (once per device and detector per batch),
so field names are looked up once per class and the document is serialised
with orjson.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, TypeVar

import orjson

from alerts.detectors.base import field_names
from alerts.errors import StateDecodeError

S = TypeVar("S")


def encode_state(state: object) -> dict[str, Any]:
    """The state's fields as a JSON-ready dict (tuples serialise as lists)."""
    if not dataclasses.is_dataclass(state) or isinstance(state, type):
        raise TypeError(f"detector state must be a dataclass instance, got {type(state)!r}")
    return {n: getattr(state, n) for n in field_names(type(state))}


def dumps(doc: Any) -> str:
    """Compact JSON text of a checkpoint document (orjson; tuples become arrays)."""
    try:
        return orjson.dumps(doc).decode()
    except orjson.JSONEncodeError:  # e.g. an int beyond 64 bits: the slow, general path
        return json.dumps(doc, separators=(",", ":"))


def dumps_states(states: dict[str, Any]) -> str:
    """The checkpoint text of one device's states (kind -> dataclass state).

    orjson serialises the dataclasses itself (fields in order, tuples as
    arrays), the same document :func:`encode_state` builds, without the dicts.
    """
    try:
        return orjson.dumps(states).decode()
    except orjson.JSONEncodeError:
        return dumps({k: encode_state(v) for k, v in states.items()})


def _tuplify(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuplify(v) for v in value)
    return value


def decode_state(cls: type[S], data: Any) -> S:
    """Rebuild a state written by :func:`encode_state`; unknown or bad data is an error."""
    if not isinstance(data, dict):
        raise StateDecodeError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
    names = field_names(cls)
    try:
        return cls(
            **{k: (_tuplify(v) if isinstance(v, list) else v)
               for k, v in data.items() if k in names}
        )  # fmt: skip
    except TypeError as exc:
        raise StateDecodeError(f"{cls.__name__}: {exc}") from exc


def state_size(state: object) -> int:
    """Bytes of the state's compact JSON form (the checkpoint size)."""
    return len(orjson.dumps(encode_state(state)))
