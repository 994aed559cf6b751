"""Array query parameters already in PostgreSQL's binary format.

The writer's rollup mark sends a batch's (device, hour) pairs as a ``text[]``
and a ``bigint[]`` of about a thousand elements each. psycopg's list dumper
handles them one element at a time in Python (about a microsecond each, on
the writer thread's critical path); these are built on the helper thread from
the encoder's cached text fields and one numpy array, and psycopg sends them
as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import psycopg
from psycopg.abc import Buffer
from psycopg.adapt import Dumper
from psycopg.postgres import adapters as postgres
from psycopg.pq import Format

from telemetry import copybin, copytext

_INT8_OID: Final = 20


class TextArray(bytes):
    """A ``text[]`` query parameter already in PostgreSQL's binary array format."""


class Int8Array(bytes):
    """A ``bigint[]`` query parameter already in PostgreSQL's binary array format."""


class _ArrayDumper(Dumper):
    format = Format.BINARY

    def dump(self, obj: Buffer) -> Buffer:
        return obj


class _TextArrayDumper(_ArrayDumper):
    oid = postgres.types["text"].array_oid


class _Int8ArrayDumper(_ArrayDumper):
    oid = postgres.types["int8"].array_oid


def register_array_dumpers(conn: psycopg.Connection[Any]) -> None:
    """Let ``conn`` send :class:`TextArray` and :class:`Int8Array` parameters as they are.

    psycopg's list dumper handles a 1,000-element array one element at a time
    in Python (about a microsecond each, on the writer's critical path);
    these arrays are built from cached element encodings by the helper thread.
    """
    conn.adapters.register_dumper(TextArray, _TextArrayDumper)
    conn.adapters.register_dumper(Int8Array, _Int8ArrayDumper)


def text_array(values: Sequence[str]) -> TextArray:
    """``values`` as a binary ``text[]`` parameter."""
    return TextArray(copytext.text_array_bytes(values, copybin.text_cache))


def int8_array(values: Sequence[int]) -> Int8Array:
    """``values`` as a binary ``bigint[]`` parameter."""
    block = np.empty(len(values), dtype=[("n", ">i4"), ("v", ">i8")])
    block["n"] = 8
    block["v"] = values
    return Int8Array(copytext.array_header(_INT8_OID, len(values)) + block.tobytes())
