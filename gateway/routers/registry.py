"""Borrowers, loans, assets and pledges: listings for every role, changes for admins."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from gateway import registry_ops
from gateway.deps import AdminUser, ConnDep, RegistryReader
from gateway.errors import NotFound
from gateway.pagination import Page, PageDep, make_page
from gateway.rows import fetch_all, fetch_one
from gateway.schemas import (
    Asset,
    AssetIn,
    Borrower,
    BorrowerIn,
    Id,
    Loan,
    LoanIn,
    Pledge,
    PledgeIn,
    ReleaseIn,
)

Filter = Annotated[str | None, Query(max_length=100)]

borrowers = APIRouter(prefix="/api/borrowers", tags=["registry"])
loans = APIRouter(prefix="/api/loans", tags=["registry"])
assets = APIRouter(prefix="/api/assets", tags=["registry"])
pledges = APIRouter(prefix="/api/pledges", tags=["registry"])


def _page(conn: ConnDep, name: str, page: PageDep, **filters: Any) -> list[dict[str, Any]]:
    return fetch_all(conn, name, {**filters, "limit": page.limit + 1, "offset": page.offset})


def _one(conn: ConnDep, name: str, what: str, id_: str) -> dict[str, Any]:
    row = fetch_one(conn, name, {"id": id_})
    if row is None:
        raise NotFound(f"no {what} {id_!r}")
    return row


@borrowers.get("", response_model=Page[Borrower])
def list_borrowers(
    conn: ConnDep,
    user: RegistryReader,
    page: PageDep,
    region: Filter = None,
    industry: Filter = None,
    officer: Filter = None,
) -> Page[Any]:
    """Borrowers, filtered by region, industry or loan officer."""
    rows = _page(conn, "borrowers_page", page, region=region, industry=industry, officer=officer)
    return make_page(rows, page)


@borrowers.get("/{borrower_id}", response_model=Borrower)
def get_borrower(conn: ConnDep, user: RegistryReader, borrower_id: Id) -> dict[str, Any]:
    """One borrower."""
    return _one(conn, "borrower_get", "borrower", borrower_id)


@borrowers.post("", response_model=Borrower, status_code=201)
def create_borrower(conn: ConnDep, user: AdminUser, body: BorrowerIn) -> dict[str, Any]:
    """Add a borrower (audited)."""
    registry_ops.create(conn, "borrower", body.model_dump(), actor=user.name)
    return _one(conn, "borrower_get", "borrower", body.id)


@loans.get("", response_model=Page[Loan])
def list_loans(
    conn: ConnDep,
    user: RegistryReader,
    page: PageDep,
    borrower_id: Filter = None,
    status: Filter = None,
) -> Page[Any]:
    """Loans, filtered by borrower or status."""
    return make_page(_page(conn, "loans_page", page, borrower_id=borrower_id, status=status), page)


@loans.get("/{loan_id}", response_model=Loan)
def get_loan(conn: ConnDep, user: RegistryReader, loan_id: Id) -> dict[str, Any]:
    """One loan."""
    return _one(conn, "loan_get", "loan", loan_id)


@loans.post("", response_model=Loan, status_code=201)
def create_loan(conn: ConnDep, user: AdminUser, body: LoanIn) -> dict[str, Any]:
    """Add a loan to an existing borrower (audited)."""
    registry_ops.create(conn, "loan", body.model_dump(mode="json"), actor=user.name)
    return _one(conn, "loan_get", "loan", body.id)


@assets.get("", response_model=Page[Asset])
def list_assets(
    conn: ConnDep,
    user: RegistryReader,
    page: PageDep,
    borrower_id: Filter = None,
    asset_class: Annotated[str | None, Query(alias="class", max_length=20)] = None,
) -> Page[Any]:
    """Assets, filtered by borrower or class (vehicle, ship, farm, equipment)."""
    rows = _page(conn, "assets_page", page, borrower_id=borrower_id, **{"class": asset_class})
    return make_page(rows, page)


@assets.get("/{asset_id}", response_model=Asset)
def get_asset(conn: ConnDep, user: RegistryReader, asset_id: Id) -> dict[str, Any]:
    """One asset with its identity and declared operation."""
    return _one(conn, "asset_get", "asset", asset_id)


@assets.post("", response_model=Asset, status_code=201)
def create_asset(conn: ConnDep, user: AdminUser, body: AssetIn) -> dict[str, Any]:
    """Add an asset (audited; a duplicate identity is refused as a double pledge)."""
    registry_ops.create(conn, "asset", body.model_dump(by_alias=True), actor=user.name)
    return _one(conn, "asset_get", "asset", body.id)


@pledges.get("", response_model=Page[Pledge])
def list_pledges(
    conn: ConnDep,
    user: RegistryReader,
    page: PageDep,
    asset_id: Filter = None,
    loan_id: Filter = None,
    active: bool = False,
) -> Page[Any]:
    """Pledges (history included unless ``active``), by asset or loan."""
    rows = _page(conn, "pledges_page", page, asset_id=asset_id, loan_id=loan_id, active=active)
    return make_page(rows, page)


@pledges.post("", response_model=Pledge, status_code=201)
def create_pledge(conn: ConnDep, user: AdminUser, body: PledgeIn) -> dict[str, Any]:
    """Pledge an asset to a loan (409 when it would be a double pledge)."""
    registry_ops.pledge(
        conn, body.asset_id, body.loan_id, at=body.valid_from, actor=user.name, why=body.reason
    )
    return _open_pledge(conn, body.asset_id, body.loan_id, closed=False)


@pledges.post("/release", response_model=Pledge)
def release_pledge(conn: ConnDep, user: AdminUser, body: ReleaseIn) -> dict[str, Any]:
    """Release an asset's open pledge to a loan (kept as history)."""
    registry_ops.release(
        conn, body.asset_id, body.loan_id, at=body.valid_to, actor=user.name, why=body.reason
    )
    return _open_pledge(conn, body.asset_id, body.loan_id, closed=True)


def _open_pledge(conn: ConnDep, asset_id: str, loan_id: str, *, closed: bool) -> dict[str, Any]:
    rows = fetch_all(
        conn,
        "pledges_page",
        {
            "asset_id": asset_id,
            "loan_id": loan_id,
            "active": not closed,
            "limit": 1000,
            "offset": 0,
        },
    )
    return max(rows, key=lambda r: int(r["id"]))
