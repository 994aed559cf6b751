"""Detector state as JSON: dataclasses of floats, ints, strings and tuples.

States are checkpointed into ``detector_state`` (jsonb) inside the ingest's
write transaction, so they must round-trip exactly and stay small (<= 2 KB).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, TypeVar

from alerts.errors import StateDecodeError

S = TypeVar("S")


def encode_state(state: object) -> dict[str, Any]:
    """The state's fields as a JSON-ready dict (tuples become lists)."""
    if not dataclasses.is_dataclass(state) or isinstance(state, type):
        raise TypeError(f"detector state must be a dataclass instance, got {type(state)!r}")
    return {f.name: getattr(state, f.name) for f in dataclasses.fields(state)}


def _tuplify(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuplify(v) for v in value)
    return value


def decode_state(cls: type[S], data: Any) -> S:
    """Rebuild a state written by :func:`encode_state`; unknown or bad data is an error."""
    if not isinstance(data, dict):
        raise StateDecodeError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    try:
        return cls(**{k: _tuplify(v) for k, v in data.items() if k in names})
    except TypeError as exc:
        raise StateDecodeError(f"{cls.__name__}: {exc}") from exc


def state_size(state: object) -> int:
    """Bytes of the state's compact JSON form (the checkpoint size)."""
    return len(json.dumps(encode_state(state), separators=(",", ":")))
