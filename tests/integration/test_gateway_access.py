"""Every endpoint enforces its role: forbidden paths, bad and revoked keys, no secret logged."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from gateway.auth import ROLES
from tests.support.gateway import auth, db, gateway_client, keys_by_role, seed_registry

pytestmark = pytest.mark.integration

EVERYONE = set(ROLES)
ADMIN = {"admin"}
POST_LOAN = {"admin", "post_loan"}
CREDIT = {"admin", "credit"}
ANALYST = {"admin", "post_loan", "credit"}
OPERATOR = {"admin", "provisioner"}

T = "start=2026-03-01T00:00:00Z&end=2026-03-02T00:00:00Z"

# (method, path, roles allowed): one line per endpoint of the API.
MATRIX: list[tuple[str, str, set[str]]] = [
    ("GET", "/api/borrowers", EVERYONE),
    ("GET", "/api/borrowers/B001", EVERYONE),
    ("POST", "/api/borrowers", ADMIN),
    ("GET", "/api/loans", EVERYONE),
    ("GET", "/api/loans/L001", EVERYONE),
    ("POST", "/api/loans", ADMIN),
    ("GET", "/api/assets", EVERYONE),
    ("GET", "/api/assets/A001", EVERYONE),
    ("POST", "/api/assets", ADMIN),
    ("GET", "/api/terminals", EVERYONE),
    ("GET", "/api/terminals/T001", EVERYONE),
    ("POST", "/api/terminals", OPERATOR),
    ("GET", "/api/bindings", EVERYONE),
    ("POST", "/api/bindings", OPERATOR),
    ("POST", "/api/bindings/unbind", OPERATOR),
    ("GET", "/api/pledges", EVERYONE),
    ("POST", "/api/pledges", ADMIN),
    ("POST", "/api/pledges/release", ADMIN),
    ("GET", "/api/zones", EVERYONE),
    ("GET", "/api/zones/Z001", EVERYONE),
    ("PUT", "/api/zones/Z001", ADMIN),
    ("GET", "/api/telemetry/latest", ANALYST),
    ("POST", "/api/telemetry/latest", ANALYST),
    ("GET", f"/api/telemetry/assets/A001/track?{T}", ANALYST),
    ("GET", f"/api/telemetry/assets/A001/hourly?{T}", ANALYST),
    ("GET", f"/api/telemetry/assets/A001/daily?{T}", ANALYST),
    ("GET", "/api/alerts", POST_LOAN),
    ("GET", "/api/alerts/1", POST_LOAN),
    ("POST", "/api/alerts/1/acknowledge", POST_LOAN),
    ("POST", "/api/alerts/1/assign", POST_LOAN),
    ("POST", "/api/alerts/1/resolve", POST_LOAN),
    ("GET", "/api/feed/alerts/events", POST_LOAN),
    ("GET", "/api/feed/alerts?wait_s=0.2", POST_LOAN),
    ("GET", "/api/webhooks", ADMIN),
    ("POST", "/api/webhooks", ADMIN),
    ("DELETE", "/api/webhooks/1", ADMIN),
    ("GET", "/api/webhooks/1/deliveries", ADMIN),
    ("POST", "/api/provenance", CREDIT),
    ("GET", "/api/provenance", CREDIT),
    ("GET", "/api/provenance/PR-0000000000000000", CREDIT),
    ("GET", "/api/provenance/PR-0000000000000000/html", CREDIT),
    ("GET", "/api/provenance/PR-0000000000000000/verify", CREDIT),
    ("POST", "/api/provenance/verify", CREDIT),
    ("GET", "/api/portfolio/concentration", ANALYST),
    ("GET", "/api/audit/verify", ADMIN),
    ("GET", "/api/audit/asset/A001", ANALYST),
    ("GET", "/api/dead-letters", OPERATOR),
    ("GET", "/api/dead-letters/1", OPERATOR),
    ("GET", "/api/quarantine", OPERATOR),
    ("GET", "/api/quarantine/1", OPERATOR),
    ("POST", "/api/quarantine/release", OPERATOR),
    ("GET", "/api/keys", ADMIN),
    ("POST", "/api/keys", ADMIN),
    ("DELETE", "/api/keys/nokey", ADMIN),
    ("GET", "/api/me", EVERYONE),
]


@pytest.fixture(scope="module")
def access_env(pg_admin_url: str, template_db: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    # One database for the whole matrix: requests by forbidden roles change nothing.
    from tests.conftest import _clone, _drop, _with_db

    name = _clone(pg_admin_url, template_db)
    url = _with_db(pg_admin_url, name)
    try:
        with db(url) as conn:
            seed_registry(conn)
            keys = keys_by_role(conn)
        with gateway_client(url) as client:
            yield client, keys
    finally:
        _drop(pg_admin_url, name)


def test_matrix_covers_every_route(access_env: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = access_env
    schema = client.get("/openapi.json").json()
    routes = {(m.upper(), p) for p, ops in schema["paths"].items() for m in ops}
    import re

    covered = set()
    for method, path, _ in MATRIX:
        bare = path.split("?")[0]
        for m, p in routes:
            pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", p) + "$"
            if m == method and re.match(pattern, bare):
                covered.add((m, p))
    assert routes - covered == set(), "add these endpoints to MATRIX"


@pytest.mark.parametrize(
    ("method", "path", "allowed"), MATRIX, ids=[f"{m} {p}" for m, p, _ in MATRIX]
)
def test_each_role_is_admitted_or_refused(
    access_env: tuple[TestClient, dict[str, str]], method: str, path: str, allowed: set[str]
) -> None:
    client, keys = access_env
    assert client.request(method, path).status_code == 401
    for role in ROLES:
        r = client.request(method, path, headers=auth(keys[role]), json=None)
        if role in allowed:
            assert r.status_code not in (401, 403), f"{role}: {r.status_code} {r.text}"
        else:
            assert r.status_code == 403, f"{role} should be refused: {r.status_code} {r.text}"
            assert role in r.json()["detail"]


def test_bad_and_revoked_keys_are_refused_without_logging_secrets(
    access_env: tuple[TestClient, dict[str, str]], caplog: pytest.LogCaptureFixture
) -> None:
    client, keys = access_env
    caplog.set_level(logging.DEBUG)
    assert client.get("/api/me", headers=auth("awk_x_y")).status_code == 401
    assert client.get("/api/me", headers={"Authorization": "Basic abc"}).status_code == 401
    assert client.get("/api/me", headers={"X-API-Key": "not-a-key"}).status_code == 401
    created = client.post(
        "/api/keys", json={"role": "credit", "name": "temp"}, headers=auth(keys["admin"])
    ).json()
    token = created["token"]
    assert client.get("/api/me", headers=auth(token)).json()["role"] == "credit"
    listed = client.get("/api/keys", headers=auth(keys["admin"])).text
    assert token not in listed
    assert token.rsplit("_", 1)[1] not in listed
    revoke = client.delete(f"/api/keys/{created['key_id']}", headers=auth(keys["admin"]))
    assert revoke.status_code == 204
    assert client.get("/api/me", headers=auth(token)).status_code == 401
    for record in caplog.records:
        for secret in (*keys.values(), token):
            assert secret not in record.getMessage()
