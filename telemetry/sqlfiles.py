"""Named SQL blocks loaded once from ``.sql`` files shipped with each package.

A file holds blocks introduced by ``-- name: query_name``; everything up to the
next such line is that query. Queries take ``%(name)s`` parameters (psycopg),
never string formatting.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Final, LiteralString

_NAME: Final = re.compile(r"^--\s*name:\s*([A-Za-z_][A-Za-z0-9_]*)\s*$", re.MULTILINE)


def parse_named_blocks(text: str) -> dict[str, str]:
    """Split ``text`` into ``{name: sql}`` (raises ``ValueError`` on a repeated name)."""
    out: dict[str, str] = {}
    matches = list(_NAME.finditer(text))
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        body = text[m.end() : end].strip()
        if m.group(1) in out:
            raise ValueError(f"query {m.group(1)!r} defined twice")
        out[m.group(1)] = body
    return out


@cache
def load_queries(package: str, filename: str = "queries.sql") -> MappingProxyType[str, str]:
    """Load ``<package>/sql/<filename>`` once and return its named blocks."""
    text = resources.files(package).joinpath("sql", filename).read_text(encoding="utf-8")
    return MappingProxyType(parse_named_blocks(text))


def query(package: str, name: str, filename: str = "queries.sql") -> LiteralString:
    """One named query, typed as a literal string for psycopg's safety checks.

    The text comes from a file shipped with the package, never from input, so
    treating it as a literal is sound.
    """
    return load_queries(package, filename)[name]  # type: ignore[return-value,unused-ignore]
