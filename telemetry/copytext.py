"""Text fields of binary-COPY rows and binary arrays, encoded once per value.

A batch repeats its device ids, sources and topics, so :class:`TextCache`
keeps each encoded field (bounded: emptied at ``_CACHE_MAX`` entries);
:mod:`telemetry.copybin` builds rows from them and :mod:`telemetry.copyparams`
array parameters.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Sequence
from struct import Struct
from typing import Final, TypeVar, cast

from telemetry.model import Reading

NULL: Final = b"\xff\xff\xff\xff"  # a NULL field: length -1
_TEXT_OID: Final = 25
_CACHE_MAX: Final = 100_000  # entries per text cache before it is emptied


def _text(value: str) -> bytes:
    data = value.encode()
    return len(data).to_bytes(4, "big") + data


class TextCache:
    """Encoded text fields by value: a batch repeats its device ids, sources and topics.

    ``reading_fields`` / ``latest_fields``: the field counts that start a
    ``readings`` / ``latest_state`` row (a row's head is the count and the id).
    """

    def __init__(self, reading_fields: int, latest_fields: int) -> None:
        self.reading_fields = reading_fields.to_bytes(2, "big")
        self.latest_fields = latest_fields.to_bytes(2, "big")
        self.heads: dict[str, bytes] = {}  # device id -> field count 26 + the id
        self.latest_heads: dict[str, bytes] = {}  # the same with field count 27
        self.tails: dict[tuple[str, str | None], bytes] = {}  # (source, topic), rest NULL
        self.fields: dict[str, bytes] = {}  # device id -> its text field (length + UTF-8)

    def field(self, value: str) -> bytes:
        return _remember(self.fields, value, _text(value))

    def head(self, device_id: str) -> bytes:
        head = self.reading_fields + _text(device_id)
        return _remember(self.heads, device_id, head)

    def latest_head(self, device_id: str) -> bytes:
        head = self.latest_fields + _text(device_id)
        return _remember(self.latest_heads, device_id, head)

    def plain_tail(self, key: tuple[str, str | None]) -> bytes:
        source, topic = key
        tail = _text(source) + (NULL if topic is None else _text(topic)) + NULL * 3
        return _remember(self.tails, key, tail)


_K = TypeVar("_K", bound=Hashable)


def _remember(cache: dict[_K, bytes], key: _K, value: bytes) -> bytes:
    """Store ``value`` in ``cache``, emptied first once it holds ``_CACHE_MAX`` entries."""
    if len(cache) >= _CACHE_MAX:
        cache.clear()
    cache[key] = value
    return value


def full_tail(r: Reading, cache: TextCache) -> bytes:
    """The text tail of a reading with a message id, alarms or metrics."""
    parts = [
        _text(r.source),
        NULL if r.topic is None else _text(r.topic),
        NULL if r.message_id is None else _text(r.message_id),
    ]
    if r.alarms:
        array = text_array_bytes(r.alarms, cache)
        parts.append(len(array).to_bytes(4, "big") + array)
    else:
        parts.append(NULL)
    if r.metrics:
        doc = b"\x01" + json.dumps(dict(r.metrics), separators=(",", ":")).encode()
        parts.append(len(doc).to_bytes(4, "big") + doc)
    else:
        parts.append(NULL)
    return b"".join(parts)


def text_array_bytes(values: Sequence[str], cache: TextCache) -> bytes:
    """``values`` in the binary format of a ``text[]`` (element encodings cached)."""
    cached = list(map(cache.fields.get, values))
    if None in cached:
        cached = [f or cache.field(v) for f, v in zip(cached, values, strict=True)]
    return array_header(_TEXT_OID, len(values)) + b"".join(cast(list[bytes], cached))


def array_header(elem_oid: int, n: int) -> bytes:
    """The header of a one-dimensional binary array of ``n`` non-NULL elements."""
    # ndim 1, no NULLs, element type, then the one dimension's length and lower bound
    return _ARRAY_HEADER.pack(1, 0, elem_oid, n, 1)


_ARRAY_HEADER: Final = Struct(">iiIii")
