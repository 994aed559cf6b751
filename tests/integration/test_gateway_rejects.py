"""Dead letters and quarantine through the API: list, inspect, release once registered."""

from __future__ import annotations

import json

import pytest

from tests.support.gateway import auth, db, gateway_client, keys_by_role, seed_registry

pytestmark = pytest.mark.integration


def test_dead_letters_and_quarantine_release(db_url: str) -> None:
    with db(db_url) as conn:
        seed_registry(conn)
        keys = keys_by_role(conn)
        conn.execute(
            "INSERT INTO dead_letters (topic, payload, reason, stage, device_id)"
            " VALUES ('assetwatch/T001/telemetry', %s, 'not JSON', 'decode', 'T001'),"
            " ('assetwatch/T001/jt808', %s, 'bad checksum', 'decode', 'T001')",
            (b"{oops", b"\x7e\x02\x00\xff"),
        )
        reading = {"ts": "2026-03-02T09:00:00Z", "lat": 31.21, "lon": 121.41, "speed_kmh": 5}
        conn.execute(
            "INSERT INTO quarantine (topic, payload, id_kind, identifier, reason)"
            " VALUES ('assetwatch/T009/telemetry', %s, 'device_id', 'T009', 'unknown terminal')",
            (json.dumps(reading).encode(),),
        )
        conn.commit()
    op, admin = auth(keys["provisioner"]), auth(keys["admin"])
    with gateway_client(db_url) as client:
        letters = client.get("/api/dead-letters?stage=decode", headers=op).json()["items"]
        assert [d["reason"] for d in letters] == ["bad checksum", "not JSON"]
        text = client.get(f"/api/dead-letters/{letters[1]['id']}", headers=op).json()
        assert text["payload_text"] == "{oops"
        binary = client.get(f"/api/dead-letters/{letters[0]['id']}", headers=op).json()
        assert binary["payload_text"] is None
        assert binary["payload_base64"] == "fgIA/w=="

        pending = client.get("/api/quarantine", headers=op).json()["items"]
        assert [q["identifier"] for q in pending] == ["T009"]
        before = client.post("/api/quarantine/release", headers=op).json()
        assert before["released"] == 0
        assert before["still_unknown"] == 1

        made = client.post(
            "/api/terminals", json={"device_id": "T009", "protocol": "json"}, headers=op
        )
        assert made.status_code == 201, made.text
        bound = client.post(
            "/api/bindings",
            json={
                "device_id": "T009",
                "asset_id": "A002",
                "reason": "replacement",
                "valid_from": "2026-03-01T00:00:00Z",
            },
            headers=op,
        )
        assert bound.status_code == 201, bound.text
        after = client.post("/api/quarantine/release", headers=op).json()
        assert after["released"] == 1
        assert after["readings"] == 1
        quarantined = client.get(f"/api/quarantine/{pending[0]['id']}", headers=op).json()
        assert json.loads(quarantined["payload_text"]) == reading
        latest = client.post(
            "/api/telemetry/latest", json={"asset_ids": ["A002"]}, headers=admin
        ).json()
        assert {s["device_id"] for s in latest} == {"T009"}
        assert client.get("/api/quarantine", headers=op).json()["items"] == []
        assert client.get("/api/quarantine?pending=false", headers=admin).json()["items"][0][
            "released_at"
        ]
