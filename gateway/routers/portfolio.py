"""Portfolio concentration: open alerts and exposure by level and one registry dimension."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter

from gateway.deps import Analyst, ConnDep
from gateway.rows import fetch_all

router = APIRouter(prefix="/api/portfolio", tags=["portfolio"])


@router.get("/concentration")
def concentration(
    conn: ConnDep,
    user: Analyst,
    by: Literal["region", "industry", "product", "officer"] = "region",
) -> list[dict[str, Any]]:
    """Rows of (group, level, open alerts, assets, loans, exposure), worst level first.

    A loan's amount counts once per group and level however many of its
    pledged assets alert; an asset pledged to two loans exposes both.
    """
    return fetch_all(conn, "portfolio_concentration", {"by": by})
