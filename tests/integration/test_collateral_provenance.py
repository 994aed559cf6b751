"""Provenance verdicts on generated histories with and without incidents; evidence digests."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from assetwatch.cli import cli
from assetwatch.settings import Settings
from collateral import registry
from collateral.document import parse_document
from collateral.provenance import build_report, render_html, verify_report
from collateral.provenance.synthetic import History, Incidents, generate
from telemetry.rollups import materialize_rollups
from telemetry.store import ReadingWriter

pytestmark = pytest.mark.integration

START = datetime(2026, 3, 1, tzinfo=UTC)
DAYS = 28
END = START + timedelta(days=DAYS)
BASE = (31.2, 121.4)


def _registry(
    device: str = "T1", asset: str = "A1", vin: str = "LFWADRJF011002346"
) -> dict[str, Any]:
    lat, lon = BASE
    return {
        "format": "assetwatch-registry/1",
        "borrowers": [{"id": "B1", "name": "Huadong Logistics", "region": "CN-31"}],
        "loans": [{"id": "L1", "borrower_id": "B1", "amount": 1000000, "currency": "CNY"}],
        "assets": [
            {
                "id": asset,
                "borrower_id": "B1",
                "class": "vehicle",
                "name": "Truck",
                "identity": {"vin": vin},
                "declared": {
                    "base": {"lat": lat, "lon": lon},
                    "hours_per_day": 9,
                    "working_days": [0, 1, 2, 3, 4, 5],
                },
            }
        ],
        "terminals": [{"device_id": device, "protocol": "json", "expected_interval_s": 300}],
        "bindings": [{"device_id": device, "asset_id": asset, "from": "2026-01-01T00:00:00Z"}],
        "pledges": [{"asset_id": asset, "loan_id": "L1", "from": "2026-01-01T00:00:00Z"}],
        "zones": [
            {
                "id": f"Z{asset}",
                "asset_id": asset,
                "kind": "pledged",
                "buffer_m": 500,
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            [lon - 0.2, lat - 0.2],
                            [lon + 0.2, lat - 0.2],
                            [lon + 0.2, lat + 0.2],
                            [lon - 0.2, lat + 0.2],
                            [lon - 0.2, lat - 0.2],
                        ]
                    ],
                },
            }
        ],
    }


def _load(conn: psycopg.Connection[Any], settings: Settings, incidents: Incidents) -> None:
    registry.import_document(conn, parse_document(_registry()))
    readings = generate(History("T1", START, DAYS, interval_s=300, base=BASE, incidents=incidents))
    ReadingWriter(settings).write(conn, readings)
    conn.commit()
    materialize_rollups(conn, now=END + timedelta(days=1))
    conn.commit()


def test_quiet_asset_is_verified_and_its_digest_holds(db_url: str, settings: Settings) -> None:
    with psycopg.connect(db_url) as conn:
        _load(conn, settings, Incidents())
        rep = build_report(conn, "A1", days=DAYS, end=END)
        body = rep["body"]
        assert body["verdict"]["verdict"] == "verified", body["verdict"]
        assert body["coverage"]["ratio"] == pytest.approx(1.0, abs=0.01)
        assert body["findings"] == []
        assert body["consistency"]["score"] >= 90
        ops = body["operations"]
        assert ops["active_days"] == 24  # Monday-Saturday over four weeks
        assert ops["hours_per_active_day"]["p50"] == pytest.approx(9.0, abs=0.2)
        assert ops["class_figures"]["engine_hours"] == pytest.approx(24 * 9, rel=0.01)
        assert body["sites"][0]["is_base"]
        assert body["sites"][0]["in_zones"] == ["ZA1"]
        assert rep["evidence"]["readings_count"] == DAYS * 288
        res = verify_report(conn, json.loads(json.dumps(rep)))
        assert res.ok, res.details
        assert res.reproducible, res.details


def test_rollups_and_raw_readings_give_the_same_report(db_url: str, settings: Settings) -> None:
    with psycopg.connect(db_url) as conn:
        _load(conn, settings, Incidents(gap_days=(10, 14), teleport_day=5))
        fixed = datetime(2026, 4, 1, tzinfo=UTC)
        a = build_report(conn, "A1", days=DAYS, end=END, generated_at=fixed)["body"]
        b = build_report(conn, "A1", days=DAYS, end=END, generated_at=fixed, source="raw")["body"]
        a.pop("source")
        b.pop("source")
        assert a == b


def test_incidents_fail_the_asset_with_named_reasons(db_url: str, settings: Settings) -> None:
    incidents = Incidents(
        gap_days=(10, 14), teleport_day=5, frozen_day=16, replay=(2, 9), tamper_day=20
    )
    with psycopg.connect(db_url) as conn:
        _load(conn, settings, incidents)
        body = build_report(conn, "A1", days=DAYS, end=END)["body"]
        kinds = {f["kind"] for f in body["findings"]}
        assert {"gap", "jump", "frozen_position", "replay", "tamper_events"} <= kinds, kinds
        assert body["verdict"]["verdict"] == "failed"
        reasons = " ".join(body["verdict"]["reasons"])
        assert "frozen position" in reasons
        assert "replay" in reasons
        assert body["coverage"]["longest_gap_hours"] >= 96


def test_gap_alone_needs_review(db_url: str, settings: Settings) -> None:
    with psycopg.connect(db_url) as conn:
        _load(conn, settings, Incidents(gap_days=(10, 14)))
        body = build_report(conn, "A1", days=DAYS, end=END)["body"]
        assert body["verdict"]["verdict"] == "needs_review"
        assert any("gap" in r for r in body["verdict"]["reasons"])


def test_same_vin_pledged_elsewhere_fails(db_url: str, settings: Settings) -> None:
    with psycopg.connect(db_url) as conn:
        _load(conn, settings, Incidents())
        twin = _registry(device="T9", asset="A9")
        twin["borrowers"] = [{"id": "B9", "name": "Other"}]
        twin["loans"] = [{"id": "L9", "borrower_id": "B9"}]
        twin["assets"][0]["borrower_id"] = "B9"
        registry.import_document(conn, parse_document(twin), allow_conflicts=True)
        conn.commit()
        body = build_report(conn, "A1", days=DAYS, end=END)["body"]
        assert body["verdict"]["verdict"] == "failed"
        assert [p["asset_id"] for p in body["other_pledges"]] == ["A9"]
        assert "vin:LFWADRJF011002346" in body["verdict"]["reasons"][0]


def test_digest_fails_after_one_reading_changes(
    db_url: str, settings: Settings, tmp_path: Path
) -> None:
    with psycopg.connect(db_url) as conn:
        _load(conn, settings, Incidents())
        rep = build_report(conn, "A1", days=DAYS, end=END)
    path = tmp_path / "report.json"
    path.write_text(json.dumps(rep))
    env = {"ASSETWATCH_DATABASE_URL": settings.database_url or ""}
    runner = CliRunner()
    out = runner.invoke(cli, ["provenance", "verify", str(path), "--json"], env=env)
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["ok"] is True
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE readings SET battery_v = 12.5 WHERE device_id = 'T1' AND seq = 4000")
        conn.commit()
        res = verify_report(conn, rep, recompute=False)
        assert res.report_intact
        assert not res.readings_unchanged
    out = runner.invoke(cli, ["provenance", "verify", str(path), "--json"], env=env)
    assert out.exit_code == 1
    assert json.loads(out.output)["readings_unchanged"] is False
    edited = json.loads(path.read_text())
    edited["body"]["verdict"]["verdict"] = "verified"
    edited["body"]["coverage"]["ratio"] = 0.99
    with psycopg.connect(db_url) as conn:
        assert not verify_report(conn, edited, recompute=False).report_intact


def test_cli_report_json_and_html(db_url: str, settings: Settings, tmp_path: Path) -> None:
    with psycopg.connect(db_url) as conn:
        _load(conn, settings, Incidents(tamper_day=3))
    env = {"ASSETWATCH_DATABASE_URL": settings.database_url or ""}
    runner = CliRunner()
    end = END.isoformat()
    out = runner.invoke(cli, ["provenance", "A1", "--days", str(DAYS), "--end", end], env=env)
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert doc["body"]["verdict"]["verdict"] == "needs_review"
    html_path = tmp_path / "r.html"
    out = runner.invoke(
        cli,
        [
            "provenance",
            "A1",
            "--days",
            str(DAYS),
            "--end",
            end,
            "--format",
            "html",
            "-o",
            str(html_path),
        ],
        env=env,
    )
    assert out.exit_code == 0, out.output
    html = html_path.read_text()
    assert "needs review" in html
    assert "<style>" in html
    assert "http://" not in html
    assert "https://" not in html
    assert "<script" not in html
    with psycopg.connect(db_url) as conn:
        assert render_html(doc).count("tamper") >= 1
    out = runner.invoke(cli, ["provenance", "A404"], env=env)
    assert out.exit_code != 0
    assert "A404" in out.output


def test_sealed_hours_catch_changes_made_after_sealing(db_url: str, settings: Settings) -> None:
    with psycopg.connect(db_url) as conn:
        _load(conn, settings, Incidents())
        first = build_report(conn, "A1", days=DAYS, end=END)
        conn.commit()
        sealed = conn.execute("SELECT count(*) FROM evidence_seals").fetchone()
        assert sealed is not None
        assert sealed[0] == DAYS * 24  # every past hour with readings is sealed once
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM evidence_seals")
        conn.rollback()
        # A reading edited after sealing: a new report still cites the seal, and fails to verify.
        conn.execute("UPDATE readings SET lat = lat + 0.001 WHERE device_id = 'T1' AND seq = 500")
        conn.commit()
        second = build_report(conn, "A1", days=DAYS, end=END)
        assert second["evidence"]["readings_sha256"] == first["evidence"]["readings_sha256"]
        res = verify_report(conn, second, recompute=False)
        assert not res.readings_unchanged
        assert any("differ from their seal" in d for d in res.details)
        # A reading removed after sealing fails verification of every report citing it.
        conn.execute("DELETE FROM readings WHERE device_id = 'T1' AND seq = 700")
        conn.commit()
        assert not verify_report(conn, first, recompute=False).readings_unchanged
        # A late reading written into a sealed hour, and the deletion above, are named when
        # the next report is built (on both layouts the rollups follow the readings).
        late = generate(History("T1", START, 1, interval_s=300, base=BASE))[3]
        extra = replace(late, seq=10**9, ts=late.ts + timedelta(seconds=7))
        ReadingWriter(settings).write(conn, [extra])
        conn.commit()
        materialize_rollups(conn, now=END + timedelta(days=1))
        conn.commit()
        third = build_report(conn, "A1", days=DAYS, end=END)["body"]
        found = {f["severity"]: f["detail"] for f in third["findings"]
                 if f["kind"] == "evidence_mismatch"}  # fmt: skip
        assert sorted(found) == ["fail", "review"]
        assert "removed since sealing (12 sealed, 11 now)" in found["fail"]
        assert "added after sealing (12 sealed, 13 now)" in found["review"]


def test_alerts_from_the_detectors_enter_the_findings(db_url: str, settings: Settings) -> None:
    with psycopg.connect(db_url) as conn:
        _load(conn, settings, Incidents())
        seen = START + timedelta(days=3)
        conn.execute(
            "INSERT INTO alerts (asset_id, device_id, kind, level, peak_level, status, outcome,"
            " first_seen, last_seen) VALUES"
            " ('A1', 'T1', 'zone_exit', 'yellow', 'yellow', 'resolved', 'false_alarm', %s, %s),"
            " ('A1', 'T1', 'spoofing', 'red', 'red', 'open', NULL, %s, %s)",
            (seen, seen, seen, seen + timedelta(hours=5)),
        )
        conn.commit()
        body = build_report(conn, "A1", days=DAYS, end=END)["body"]
        by_kind = {f["kind"]: f for f in body["findings"]}
        assert by_kind["alert_zone_exit"]["severity"] == "info"
        assert by_kind["alert_spoofing"]["severity"] == "fail"
        assert body["verdict"]["verdict"] == "failed"
        assert len(body["alerts"]) == 2


def test_asset_without_data_fails_and_other_classes_render(db_url: str, settings: Settings) -> None:
    doc = json.loads(
        (Path(__file__).parent.parent / "data" / "collateral_registry.json").read_text()
    )
    with psycopg.connect(db_url) as conn:
        registry.import_document(conn, parse_document(doc))
        conn.commit()
        # a ship with one terminal change and a stationary herd, neither with readings
        for asset in ("A002", "A003"):
            rep = build_report(conn, asset, days=200, end=datetime(2026, 7, 1, tzinfo=UTC))
            body = rep["body"]
            assert body["verdict"]["verdict"] == "failed"
            assert "no readings in the period" in body["verdict"]["reasons"]
            assert rep["evidence"]["readings_count"] == 0
            assert "failed" in render_html(rep)
        ship = build_report(conn, "A002", days=200, end=datetime(2026, 7, 1, tzinfo=UTC))["body"]
        assert [t["device_id"] for t in ship["terminals"]] == ["T002", "T002"]
        # a herd collar with activity only, no engine: figures come out, nothing crashes
        herd = generate(History("T003", START, 7, interval_s=600, base=(30.0, 122.1)))
        herd = [
            replace(
                r,
                engine_on=None,
                ignition=None,
                engine_hours=None,
                speed_kmh=None,
                metrics={"activity": 10.0 + (r.seq or 0) % 7, "body_temp_c": 38.5},
            )
            for r in herd
        ]
        ReadingWriter(settings).write(conn, herd)
        conn.commit()
        body = build_report(conn, "A003", days=7, end=START + timedelta(days=7))["body"]
        figs = body["operations"]["class_figures"]
        assert figs["activity_mean"] == pytest.approx(13.0, abs=0.2)
        assert figs["body_temp_c_mean"] == pytest.approx(38.5)
        assert body["operations"]["active_days"] == 8  # 7 UTC days touch 8 local days (UTC+8)
