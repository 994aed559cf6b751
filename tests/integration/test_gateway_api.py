"""The HTTP API against a real database: registry, alerts, triage, feed, errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.support.gateway import (
    auth,
    db,
    gateway_client,
    insert_alert,
    keys_by_role,
    seed_registry,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def env(db_url: str) -> Iterator[tuple[TestClient, dict[str, str], str]]:
    with db(db_url) as conn:
        seed_registry(conn)
        keys = keys_by_role(conn)
    with gateway_client(db_url) as client:
        yield client, keys, db_url


def test_registry_listings_and_detail(env: tuple[TestClient, dict[str, str], str]) -> None:
    client, keys, _ = env
    r = client.get("/api/borrowers", headers=auth(keys["credit"]))
    assert r.status_code == 200, r.text
    assert [b["id"] for b in r.json()["items"]] == ["B001", "B002"]
    r = client.get("/api/assets/A001", headers=auth(keys["post_loan"]))
    assert r.json()["class"] == "vehicle"
    r = client.get("/api/borrowers?limit=1", headers=auth(keys["admin"]))
    assert r.json()["next_offset"] == 1
    r = client.get("/api/zones?asset_id=A001", headers=auth(keys["provisioner"]))
    feature = r.json()["features"][0]
    assert feature["type"] == "Feature"
    assert feature["geometry"]["type"] == "Polygon"


def test_unknown_ids_are_404_and_bad_input_is_4xx(
    env: tuple[TestClient, dict[str, str], str],
) -> None:
    client, keys, _ = env
    r = client.get("/api/assets/NOPE", headers=auth(keys["admin"]))
    assert r.status_code == 404
    assert "NOPE" in r.json()["detail"]
    r = client.get("/api/borrowers?limit=0", headers=auth(keys["admin"]))
    assert r.status_code == 422
    assert "limit" in r.json()["detail"]
    r = client.get("/api/alerts/abc", headers=auth(keys["admin"]))
    assert r.status_code == 422


def test_alert_list_filters_and_triage(env: tuple[TestClient, dict[str, str], str]) -> None:
    client, keys, url = env
    with db(url) as conn:
        a1 = insert_alert(conn, asset_id="A001", level="orange")
        insert_alert(conn, asset_id="A002", kind="offline", level="red")
    pl = auth(keys["post_loan"])
    items = client.get("/api/alerts", headers=pl).json()["items"]
    assert {a["asset_id"] for a in items} == {"A001", "A002"}
    red = client.get("/api/alerts?level=red", headers=pl).json()["items"]
    assert [a["kind"] for a in red] == ["offline"]
    region = client.get("/api/alerts?region=CN-31", headers=pl).json()["items"]
    assert [a["id"] for a in region] == [a1]
    assert region[0]["borrower_name"] == "Huadong Logistics"
    detail = client.get(f"/api/alerts/{a1}", headers=pl).json()
    assert detail["evidence"]["thresholds"]["buffer_m"] == 200
    assert detail["pledged_to"][0]["loan_id"] == "L001"
    assert [h["event"] for h in detail["history"]] == ["raised"]

    conc = client.get("/api/portfolio/concentration?by=region", headers=auth(keys["credit"]))
    rows = {(r["group"], r["level"]): r for r in conc.json()}
    assert rows[("CN-33", "red")]["exposure"] == 800000
    assert rows[("CN-31", "orange")]["open_alerts"] == 1


def test_webhook_subscriptions_are_admin_only_and_validated(
    env: tuple[TestClient, dict[str, str], str],
) -> None:
    client, keys, _ = env
    body = {"url": "http://127.0.0.1:9/hook", "secret": "s" * 20}
    assert (
        client.post("/api/webhooks", json=body, headers=auth(keys["post_loan"])).status_code == 403
    )
    r = client.post("/api/webhooks", json=body, headers=auth(keys["admin"]))
    assert r.status_code == 201
    assert "secret" not in r.json()
    bad = client.post("/api/webhooks", json={**body, "url": "ftp://x"}, headers=auth(keys["admin"]))
    assert bad.status_code == 422


def test_triage_acknowledge_assign_resolve(env: tuple[TestClient, dict[str, str], str]) -> None:
    client, keys, url = env
    with db(url) as conn:
        alert_id = insert_alert(conn)
    pl = auth(keys["post_loan"])
    r = client.post(f"/api/alerts/{alert_id}/acknowledge", json={"note": "looking"}, headers=pl)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "acknowledged"
    again = client.post(f"/api/alerts/{alert_id}/acknowledge", headers=pl)
    assert again.status_code == 409
    assert "acknowledged" in again.json()["detail"]
    bad = client.post(f"/api/alerts/{alert_id}/resolve", json={"outcome": "maybe"}, headers=pl)
    assert bad.status_code == 422
    r = client.post(
        f"/api/alerts/{alert_id}/resolve",
        json={"outcome": "false_alarm", "note": "GPS drift at the depot"},
        headers=pl,
    )
    assert r.json()["status"] == "resolved"
    assert r.json()["outcome"] == "false_alarm"
    events = client.get("/api/feed/alerts/events?after=0", headers=pl).json()
    assert [e["type"] for e in events] == ["raised", "acknowledged", "resolved"]
    assert client.post("/api/alerts/999999/acknowledge", headers=pl).status_code == 404


def _sse_ids(client: TestClient, token: str, *, limit: int, **kw: object) -> list[int]:
    params: dict[str, object] = {"limit": limit}
    headers = auth(token)
    if "after" in kw:
        params["after"] = kw["after"]
    if "last_id" in kw:
        headers["Last-Event-ID"] = str(kw["last_id"])
    ids: list[int] = []
    with client.stream("GET", "/api/feed/alerts", params=params, headers=headers) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        for line in resp.iter_lines():
            if line.startswith("id: "):
                ids.append(int(line[4:]))
    return ids


def test_feed_resumes_from_last_event_id(env: tuple[TestClient, dict[str, str], str]) -> None:
    client, keys, url = env
    with db(url) as conn:
        ids = [insert_alert(conn, asset_id=a) for a in ("A001", "A002")]
        from tests.support.gateway import add_event

        add_event(conn, ids[0], "escalated")
    token = keys["post_loan"]
    first = _sse_ids(client, token, limit=2, after=0)
    assert len(first) == 2
    rest = _sse_ids(client, token, limit=1, last_id=first[-1])
    assert rest[0] > first[-1]
    assert sorted([*first, *rest]) == [*first, *rest]
    assert client.get("/api/feed/alerts", headers=auth(keys["credit"])).status_code == 403
