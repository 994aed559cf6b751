"""Registry import/export, double pledges and history against a real PostgreSQL."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from assetwatch.cli import cli
from collateral import audit, registry
from collateral.document import load_assets_csv, load_json, parse_document
from collateral.errors import DoublePledgeError, NotFound, RegistryError
from collateral.lookup import load_binding_index, load_terminal_index, load_zone_index
from collateral.model import RegistryDocument

pytestmark = pytest.mark.integration

DATA = Path(__file__).parent.parent / "data" / "collateral_registry.json"


def _doc() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(DATA.read_text(encoding="utf-8"))
    return doc


def _norm(doc: dict[str, Any]) -> dict[str, Any]:
    """Order-insensitive form of a registry file with canonical spellings."""
    from collateral.document import to_document

    d = to_document(parse_document(doc))
    keys = {"bindings": ("device_id", "from"), "pledges": ("asset_id", "loan_id", "from")}
    for section, items in d.items():
        if isinstance(items, list):
            ks = keys.get(section)
            items.sort(key=lambda x: tuple(str(x.get(k)) for k in ks) if ks else json.dumps(x))
    return d


def test_import_export_round_trip_and_reimport_is_a_noop(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        res = registry.import_document(conn, load_json(DATA.read_text()), actor="test")
        conn.commit()
        assert res.inserted["assets"] == 3
        assert res.inserted["bindings"] == 4
        exported = registry.export_document(conn)
        assert _norm(exported) == _norm(_doc())
        head = audit.verify(conn).head_seq
        again = registry.import_document(conn, parse_document(exported), actor="test")
        conn.commit()
        assert sum(again.inserted.values()) == 0
        assert sum(again.updated.values()) == 0
        assert audit.verify(conn).head_seq == head  # nothing changed, nothing audited


def test_cli_import_export(db_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"ASSETWATCH_DATABASE_URL": db_url}
    out = runner.invoke(cli, ["registry", "import", str(DATA), "--json"], env=env)
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["inserted"]["zones"] == 2
    target = tmp_path / "export.json"
    out = runner.invoke(cli, ["registry", "export", "-o", str(target)], env=env)
    assert out.exit_code == 0, out.output
    assert _norm(json.loads(target.read_text())) == _norm(_doc())
    out = runner.invoke(cli, ["audit", "verify", "--json"], env=env)
    assert out.exit_code == 0
    assert json.loads(out.output)["ok"] is True


def test_a_failing_file_applies_nothing(db_url: str) -> None:
    doc = _doc()
    doc["pledges"].append({"asset_id": "A001", "loan_id": "L404", "from": "2026-03-01T00:00:00Z"})
    with psycopg.connect(db_url) as conn:
        with pytest.raises(RegistryError, match="unknown loan_id 'L404'"):
            registry.import_document(conn, parse_document(doc))
        conn.commit()
        assert conn.execute("SELECT count(*) FROM borrowers").fetchone() == (0,)
        assert audit.verify(conn).entries == 0


def test_double_pledge_of_the_same_vin_is_refused(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        registry.import_document(conn, load_json(DATA.read_text()))
        conn.commit()
        twin = _doc()
        twin = {
            "format": "assetwatch-registry/1",
            "borrowers": [{"id": "B009", "name": "Other Co"}],
            "loans": [{"id": "L009", "borrower_id": "B009", "amount": 5, "currency": "CNY"}],
            "assets": [
                {
                    "id": "A009",
                    "borrower_id": "B009",
                    "class": "vehicle",
                    "name": "Same truck",
                    "identity": {"vin": "lfwadrjf011002346"},
                }
            ],
            "pledges": [{"asset_id": "A009", "loan_id": "L009", "from": "2026-05-01T00:00:00Z"}],
        }
        with pytest.raises(DoublePledgeError, match="vin:LFWADRJF011002346"):
            registry.import_document(conn, parse_document(twin))
        conn.rollback()
        assert conn.execute("SELECT count(*) FROM assets").fetchone() == (3,)
        # accepted on purpose: flagged, listed, audited
        res = registry.import_document(conn, parse_document(twin), allow_conflicts=True)
        conn.commit()
        assert [c.kind for c in res.flagged] == ["identity"]
        current = registry.list_conflicts(conn)
        assert {c.asset_ids for c in current} == {("A001", "A009")}
        assert conn.execute("SELECT count(*) FROM registry_conflicts").fetchone() == (1,)


def test_overlapping_ear_tags_and_same_asset_twice(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        registry.import_document(conn, load_json(DATA.read_text()))
        conn.commit()
        herd = copy.deepcopy(_doc()["assets"][2])
        herd.update(id="A010", identity={"ear_tags": [["CN330902000190", "CN330902000210"]]})
        doc = {
            "format": "assetwatch-registry/1",
            "assets": [herd],
            "pledges": [{"asset_id": "A010", "loan_id": "L001", "from": "2026-04-01T00:00:00Z"}],
        }
        with pytest.raises(DoublePledgeError, match="ear tags"):
            registry.import_document(conn, parse_document(doc))
        conn.rollback()
        with pytest.raises(DoublePledgeError, match="asset A001 pledged to loans L001 and L002"):
            registry.pledge(
                conn, "A001", "L002", at=datetime(2026, 7, 1, tzinfo=UTC), by="t", why="x"
            )


def test_terminal_bound_to_two_assets_is_refused_and_rebinding_keeps_history(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        registry.import_document(conn, load_json(DATA.read_text()))
        conn.commit()
        doc = {
            "format": "assetwatch-registry/1",
            "bindings": [{"device_id": "T001", "asset_id": "A002", "from": "2026-03-01T00:00:00Z"}],
        }
        with pytest.raises(DoublePledgeError, match="terminal T001 bound to A001 and A002"):
            registry.import_document(conn, parse_document(doc))
        conn.rollback()
        with pytest.raises(DoublePledgeError):
            registry.bind(
                conn,
                "T001",
                "A002",
                at=datetime(2026, 8, 1, tzinfo=UTC),
                by="ops",
                why="moved",
                replace_open=False,
            )
        conn.rollback()
        registry.bind(
            conn, "T001", "A002", at=datetime(2026, 8, 1, tzinfo=UTC), by="ops", why="moved"
        )
        conn.commit()
        idx = load_binding_index(conn)
        assert idx.asset_at("T001", datetime(2026, 7, 31, tzinfo=UTC)) == "A001"
        assert idx.asset_at("T001", datetime(2026, 8, 2, tzinfo=UTC)) == "A002"
        assert registry.list_conflicts(conn, current=False) == []
        with pytest.raises(NotFound):
            registry.bind(conn, "T404", "A001", at=datetime(2026, 8, 1, tzinfo=UTC), by="o", why="")


def test_terminal_index_for_the_ingest(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        registry.import_document(conn, load_json(DATA.read_text()))
        conn.commit()
        idx = load_terminal_index(conn)
        assert idx.device_for_jt808("13800000001") == "T001"
        assert idx.device_for_jt808("00000000013800000001") == "T001"
        assert idx.device_for_mmsi(412345678) == "T002"
        assert idx.device_for_dev_eui("70B3D57ED0001234") == "T003"
        assert idx.profile_of("T003") == {
            "lat": "latitude",
            "lon": "longitude",
            "metrics.activity": "act",
            "metrics.body_temp_c": "temp",
        }
        t002 = idx.info("T002")
        assert t002 is not None
        assert t002.satellite
        zones = load_zone_index(conn)
        assert zones.check("A001", 31.3, 121.5).inside
        assert not zones.check("A001", 30.0, 121.5).inside


def test_assets_csv_reports_every_bad_line_and_applies_nothing(db_url: str) -> None:
    text = (
        "id,borrower_id,class,name,vin,mmsi,base_lat,base_lon,hours_per_day,working_days\n"
        "A101,B001,vehicle,Truck 1,LFWADRJF011002347,,31.2,121.4,8,0;1;2;3;4\n"
        "A102,B001,vehicle,Truck 2,BADVIN,,31.2,121.4,8,\n"
        "A103,B001,boat,Boat,,,,,,\n"
        "A104,B001,ship,Ship,,412000001,95,121.4,,\n"
    )
    with pytest.raises(RegistryError) as err:
        load_assets_csv(text)
    wheres = [p.where for p in err.value.problems]
    assert wheres == ["line 3", "line 4", "line 5"]
    assert "vin 'BADVIN'" in str(err.value)
    assert "class must be one of" in str(err.value)
    assert "declared.base.lat" in str(err.value)
    good = "\n".join(text.splitlines()[:2]) + "\n"
    with psycopg.connect(db_url) as conn:
        registry.import_document(conn, load_json(DATA.read_text()))
        res = registry.import_document(conn, RegistryDocument(assets=load_assets_csv(good)))
        conn.commit()
        assert res.inserted["assets"] == 1
        row = conn.execute("SELECT declared FROM assets WHERE id = 'A101'").fetchone()
        assert row is not None
        assert row[0]["working_days"] == [0, 1, 2, 3, 4]


def test_export_leaves_credentials_out_and_reimport_keeps_them(db_url: str) -> None:
    doc = _doc()
    doc["terminals"][0]["secret_hash"] = "sha256:" + "ab" * 32
    with psycopg.connect(db_url) as conn:
        registry.import_document(conn, parse_document(doc))
        conn.commit()
        plain = registry.export_document(conn)
        assert all("secret_hash" not in t for t in plain["terminals"])
        full = registry.export_document(conn, with_secrets=True)
        assert full["terminals"][0]["secret_hash"] == "sha256:" + "ab" * 32
        res = registry.import_document(conn, parse_document(plain))
        conn.commit()
        assert res.updated["terminals"] == 0
        row = conn.execute("SELECT secret_hash FROM terminals WHERE device_id = 'T001'").fetchone()
        assert row == ("sha256:" + "ab" * 32,)
