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
    write_track,
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


def _sse_ids(client: TestClient, token: str, *, limit: int, **kw: int) -> list[int]:
    params: dict[str, int] = {"limit": limit}
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


def test_registry_changes_go_through_collateral(
    env: tuple[TestClient, dict[str, str], str],
) -> None:
    client, keys, _ = env
    admin, prov = auth(keys["admin"]), auth(keys["provisioner"])
    r = client.post(
        "/api/borrowers",
        json={"id": "B003", "name": "Nongken Dairy", "industry": "dairy", "region": "CN-23"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    r = client.post(
        "/api/assets",
        json={
            "id": "A003",
            "borrower_id": "B003",
            "class": "equipment",
            "name": "Genset",
            "identity": {"serial": "GS-1"},
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    missing = client.post(
        "/api/assets",
        json={
            "id": "A004",
            "borrower_id": "B404",
            "class": "equipment",
            "name": "X",
            "identity": {"serial": "GS-2"},
        },
        headers=admin,
    )
    assert missing.status_code in (400, 404)
    assert "B404" in missing.json()["detail"]
    r = client.post("/api/terminals", json={"device_id": "T003", "protocol": "json"}, headers=prov)
    assert r.status_code == 201, r.text
    r = client.post(
        "/api/bindings",
        json={"device_id": "T003", "asset_id": "A003", "reason": "fitted"},
        headers=prov,
    )
    assert r.status_code == 201, r.text
    assert r.json()["valid_to"] is None
    taken = client.post(
        "/api/bindings",
        json={"device_id": "T003", "asset_id": "A001", "reason": "x"},
        headers=prov,
    )
    assert taken.status_code == 409
    r = client.post(
        "/api/bindings/unbind", json={"device_id": "T003", "reason": "removed"}, headers=prov
    )
    assert r.json()["valid_to"] is not None
    zone = {
        "type": "Feature",
        "id": "Z003",
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[126, 45], [127, 45], [127, 46], [126, 46], [126, 45]]],
        },
        "properties": {"asset_id": "A003", "kind": "base", "name": "farm", "buffer_m": 50},
    }
    r = client.put("/api/zones/Z003", json=zone, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["properties"]["buffer_m"] == 50
    bad = {**zone, "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]}}
    r = client.put("/api/zones/Z003", json=bad, headers=admin)
    assert r.status_code == 400
    history = client.get("/api/audit/asset/A003", headers=auth(keys["credit"])).json()
    assert history[0]["action"] == "create"
    assert client.get("/api/audit/verify", headers=admin).json()["ok"] is True


def test_provenance_report_create_fetch_print_verify(
    env: tuple[TestClient, dict[str, str], str],
) -> None:
    client, keys, url = env
    with db(url) as conn:
        write_track(conn, url)
    credit = auth(keys["credit"])
    body = {"asset_id": "A001", "days": 30, "end": "2026-03-10T00:00:00Z"}
    r = client.post("/api/provenance", json=body, headers=credit)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["digest"] == made["report"]["evidence"]["report_sha256"]
    fetched = client.get(f"/api/provenance/{made['id']}", headers=credit).json()
    assert fetched["report"] == made["report"]
    html = client.get(f"/api/provenance/{made['id']}/html", headers=credit)
    assert html.headers["content-type"].startswith("text/html"), html.text
    assert "A001" in html.text
    assert client.get(f"/api/provenance/{made['id']}/verify", headers=credit).json()["ok"]
    tampered = made["report"]
    tampered["body"]["asset"]["name"] = "something else"
    result = client.post("/api/provenance/verify", json=tampered, headers=credit).json()
    assert result["ok"] is False
    assert result["report_intact"] is False
    unknown = client.post("/api/provenance", json={"asset_id": "NOPE"}, headers=credit)
    assert unknown.status_code == 404


def test_telemetry_latest_track_hourly_daily(env: tuple[TestClient, dict[str, str], str]) -> None:
    client, keys, url = env
    with db(url) as conn:
        write_track(conn, url, n=120)
    h = auth(keys["post_loan"])
    latest = client.get("/api/telemetry/latest", headers=h).json()
    assert [s["asset_id"] for s in latest] == ["A001"]
    assert latest[0]["lon"] == pytest.approx(121.4 + 119 * 0.001)
    some = client.post("/api/telemetry/latest", json={"asset_ids": ["A002"]}, headers=h).json()
    assert some == []
    window = "start=2026-03-02T08:00:00Z&end=2026-03-02T12:00:00Z"
    track = client.get(f"/api/telemetry/assets/A001/track?{window}", headers=h).json()
    line = track["features"][0]
    assert line["geometry"]["type"] == "LineString"
    assert len(line["geometry"]["coordinates"]) == 120
    thin = client.get(f"/api/telemetry/assets/A001/track?{window}&simplify_m=50", headers=h)
    assert len(thin.json()["features"][0]["geometry"]["coordinates"]) == 2
    hourly = client.get(f"/api/telemetry/assets/A001/hourly?{window}", headers=h).json()
    assert [r["readings"] for r in hourly] == [60, 60]
    daily = client.get(f"/api/telemetry/assets/A001/daily?{window}", headers=h).json()
    assert daily[0]["operating_minutes"] == pytest.approx(120, abs=2)
    backwards = "start=2026-03-02T12:00:00Z&end=2026-03-02T08:00:00Z"
    r = client.get(f"/api/telemetry/assets/A001/track?{backwards}", headers=h)
    assert r.status_code == 400
    assert "after start" in r.json()["detail"]
    naive = client.get(
        "/api/telemetry/assets/A001/daily?start=2026-03-02T08:00:00&end=2026-03-03T00:00:00",
        headers=h,
    )
    assert naive.status_code == 400


def test_assign_acknowledges_an_open_alert_and_reassigns_later(
    env: tuple[TestClient, dict[str, str], str],
) -> None:
    client, keys, url = env
    with db(url) as conn:
        alert_id = insert_alert(conn)
    pl = auth(keys["post_loan"])
    r = client.post(f"/api/alerts/{alert_id}/assign", json={"assignee": "li.wei"}, headers=pl)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["assignee"]) == ("acknowledged", "li.wei")
    r = client.post(f"/api/alerts/{alert_id}/assign", json={"assignee": "wang.fang"}, headers=pl)
    assert r.status_code == 200, r.text
    assert r.json()["assignee"] == "wang.fang"
    mine = client.get("/api/alerts?assignee=wang.fang", headers=pl).json()["items"]
    assert [a["id"] for a in mine] == [alert_id]
    empty = client.post(f"/api/alerts/{alert_id}/assign", json={"assignee": ""}, headers=pl)
    assert empty.status_code == 422
