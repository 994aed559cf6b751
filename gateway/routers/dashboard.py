"""The dashboard: server-rendered pages (jinja2) with a little local JavaScript.

Login takes an API key and keeps it in an HttpOnly, SameSite=Strict cookie;
the pages' scripts then call the same JSON API with that cookie, so the API's
role checks apply to the dashboard too. Nothing is loaded from the internet.
"""

from __future__ import annotations

from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from gateway.auth import Principal, authenticate
from gateway.deps import COOKIE_NAME, PoolDep, SettingsDep
from gateway.errors import GatewayError, NotFound
from gateway.rows import fetch_all, fetch_one

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(resources.files("gateway").joinpath("templates")))

PAGE_ROLES = {
    "map": ("admin", "post_loan", "credit"),
    "alerts": ("admin", "post_loan"),
    "asset": ("admin", "post_loan", "credit"),
    "portfolio": ("admin", "post_loan", "credit"),
    "provenance": ("admin", "credit"),
}


def _user(request: Request, pool: PoolDep) -> Principal | None:
    token = request.cookies.get(COOKIE_NAME)
    if not token:
        return None
    try:
        with pool.connection() as conn:
            return authenticate(conn, token)
    except GatewayError:
        return None


def _page(request: Request, pool: PoolDep, page: str, template: str, **ctx: Any) -> Response:
    user = _user(request, pool)
    if user is None:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    if user.role not in PAGE_ROLES[page]:
        return templates.TemplateResponse(
            request,
            "forbidden.html",
            {"user": user, "page": page, "roles": PAGE_ROLES[page]},
            status_code=403,
        )
    return templates.TemplateResponse(request, template, {"user": user, "page": page, **ctx})


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:
    return templates.TemplateResponse(
        request, "login.html", {"next": _safe_next(next), "error": None}
    )


def _safe_next(target: str) -> str:
    # Only local paths: never redirect a freshly logged-in user to another site.
    return target if target.startswith("/") and not target.startswith("//") else "/"


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    pool: PoolDep,
    settings: SettingsDep,
    api_key: Annotated[str, Form(max_length=300)],
    next: Annotated[str, Form(max_length=300)] = "/",
) -> Response:
    try:
        with pool.connection() as conn:
            authenticate(conn, api_key.strip())
    except GatewayError as exc:
        return templates.TemplateResponse(
            request, "login.html", {"next": _safe_next(next), "error": exc.message}, status_code=401
        )
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE_NAME,
        api_key.strip(),
        httponly=True,
        samesite="strict",
        secure=settings.dashboard_secure_cookie,
        max_age=12 * 3600,
    )
    return response


@router.post("/logout")
def logout() -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE_NAME)
    return response


@router.get("/", response_class=HTMLResponse)
def map_page(request: Request, pool: PoolDep) -> Response:
    return _page(request, pool, "map", "map.html")


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, pool: PoolDep) -> Response:
    return _page(request, pool, "alerts", "alerts.html")


@router.get("/portfolio", response_class=HTMLResponse)
def portfolio_page(request: Request, pool: PoolDep) -> Response:
    return _page(request, pool, "portfolio", "portfolio.html")


@router.get("/assets/{asset_id}", response_class=HTMLResponse)
def asset_page(request: Request, pool: PoolDep, asset_id: str) -> Response:
    with pool.connection() as conn:
        asset = fetch_one(conn, "asset_get", {"id": asset_id})
        if asset is None:
            raise NotFound(f"no asset {asset_id!r}")
        borrower = fetch_one(conn, "borrower_get", {"id": asset["borrower_id"]})
        page = {"asset_id": asset_id, "device_id": None, "active": False, "limit": 200, "offset": 0}
        bindings = fetch_all(conn, "bindings_page", page)
        pledges = fetch_all(conn, "pledges_page", {**page, "loan_id": None})
    return _page(
        request,
        pool,
        "asset",
        "asset.html",
        asset=asset,
        borrower=borrower,
        bindings=bindings,
        pledges=pledges,
    )


@router.get("/provenance/{asset_id}", response_class=HTMLResponse)
def provenance_page(request: Request, pool: PoolDep, asset_id: str) -> Response:
    return _page(request, pool, "provenance", "provenance.html", asset_id=asset_id)
