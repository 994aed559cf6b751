"""Limit/offset pagination shared by every listing, with bounds that keep SQL safe."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

T = TypeVar("T")

MAX_LIMIT = 1000
MAX_OFFSET = 1_000_000


class PageParams(BaseModel):
    """Which slice of a listing the caller wants."""

    limit: int
    offset: int


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items per page")] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="items to skip")] = 0,
) -> PageParams:
    """Read ``limit`` and ``offset`` from the query string."""
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(page_params)]


class Page(BaseModel, Generic[T]):
    """One page of a listing; ``next_offset`` is null on the last page."""

    items: list[T]
    limit: int
    offset: int
    next_offset: int | None


def make_page(rows: list[T], params: PageParams) -> Page[T]:
    """Build a page from ``limit + 1`` fetched rows (the extra one says whether more exist)."""
    more = len(rows) > params.limit
    return Page[T](
        items=rows[: params.limit],
        limit=params.limit,
        offset=params.offset,
        next_offset=params.offset + params.limit if more else None,
    )
