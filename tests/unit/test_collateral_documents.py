"""Registry file parsing, identities and conflict detection (no database)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from collateral.canonical import canonical_json
from collateral.conflicts import find_conflicts
from collateral.document import load_json, parse_document, to_document
from collateral.errors import RegistryError
from collateral.identity import imo_check_ok, normalise_identity, parse_tag_range
from collateral.model import Asset, Binding, Pledge

DATA = Path(__file__).parent.parent / "data" / "collateral_registry.json"


def _doc() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(DATA.read_text(encoding="utf-8"))
    return doc


def test_document_round_trips_through_to_document() -> None:
    doc = load_json(DATA.read_text(encoding="utf-8"))
    again = parse_document(json.loads(json.dumps(to_document(doc))))
    assert again == doc
    assert doc.loans[1].amount == Decimal("850000.5")
    assert doc.terminals[0].jt808_phone == "013800000001"


def test_every_problem_is_listed_with_its_place() -> None:
    doc = _doc()
    doc["assets"][0]["identity"]["vin"] = "LFWADRJF01100234I"  # I is not allowed in a VIN
    doc["terminals"][1]["mmsi"] = "41234567"
    doc["loans"][0]["end"] = "2025-01-01"
    doc["bindings"][0]["from"] = "2026-01-01 00:00:00"
    doc["zones"][0]["geometry"]["coordinates"][0].pop()
    doc["assets"].append(dict(doc["assets"][0]))
    doc["extra"] = []
    with pytest.raises(RegistryError) as err:
        parse_document(doc)
    text = str(err.value)
    wheres = [p.where for p in err.value.problems]
    assert "assets[0] (A001)" in wheres
    assert "terminals[1] (T002)" in wheres
    assert "loans[0] (L001)" in wheres
    assert "bindings[0] (T001)" in wheres
    assert "zones[0] (Z001) geometry" in wheres
    assert "assets[3] (A001)" in wheres
    assert "unknown section(s) ['extra']" in text
    assert "needs a time zone" in text
    assert "ring is not closed" in text


def test_json_syntax_error_names_line() -> None:
    with pytest.raises(RegistryError, match="line 2 column"):
        load_json('{"format": "assetwatch-registry/1",\n "borrowers": [}')


@pytest.mark.parametrize(
    ("cls", "identity", "message"),
    [
        ("ship", {"imo": "9074728"}, "check digit"),
        ("ship", {"vin": "LFWADRJF011002346"}, "not used for class ship"),
        ("farm", {"ear_tags": [["CN001", "CN01"]]}, "differ in prefix or length"),
        ("farm", {"ear_tags": [["CN010", "CN001"]]}, "first is after last"),
        ("farm", {"ear_tags": [["CN001", "CN010"], ["CN005", "CN020"]]}, "overlap"),
        ("equipment", {"oem": "CAT"}, "needs serial"),
    ],
)
def test_identity_problems(cls: str, identity: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        normalise_identity(cls, identity)


def test_imo_and_tags() -> None:
    assert imo_check_ok("9074729")
    assert normalise_identity("ship", {"imo": "IMO 9074729"}) == {"imo": "9074729"}
    r = parse_tag_range(["CN330902000100", "CN330902000199"])
    assert r.overlaps(parse_tag_range("CN330902000150"))
    assert not r.overlaps(parse_tag_range("CN330902000200"))
    assert not r.overlaps(parse_tag_range("XX330902000150"))


T0 = datetime(2026, 1, 1, tzinfo=UTC)
T1 = datetime(2026, 6, 1, tzinfo=UTC)


def _asset(aid: str, **identity: Any) -> Asset:
    cls = "farm" if "ear_tags" in identity else "vehicle"
    return Asset(aid, "B", cls, aid, identity)


def test_conflicts_need_overlapping_periods() -> None:
    assets = {"A": _asset("A", vin="V" * 17), "B": _asset("B", vin="V" * 17)}
    sequential = [Pledge("A", "L1", T0, T1), Pledge("B", "L2", T1, None)]
    assert find_conflicts(assets, sequential, []) == []
    overlapping = [Pledge("A", "L1", T0, None), Pledge("B", "L2", T1, None)]
    (c,) = find_conflicts(assets, overlapping, [])
    assert (c.kind, c.key, c.asset_ids, c.loan_ids, c.since, c.until) == (
        "identity",
        f"vin:{'V' * 17}",
        ("A", "B"),
        ("L1", "L2"),
        T1,
        None,
    )
    assert find_conflicts(assets, overlapping, [], at=datetime(2026, 3, 1, tzinfo=UTC)) == []


def test_ear_tag_and_terminal_conflicts() -> None:
    assets = {
        "A": _asset("A", ear_tags=[["E0100", "E0199"]]),
        "B": _asset("B", ear_tags=[["E0200", "E0299"]]),
        "C": _asset("C", ear_tags=[["E0150", "E0250"]]),
    }
    pledges = [Pledge(a, f"L{a}", T0) for a in "ABC"]
    found = find_conflicts(assets, pledges, [])
    assert sorted(c.asset_ids for c in found) == [("A", "C"), ("B", "C")]
    bindings = [
        Binding("T1", "A", T0, T1),
        Binding("T1", "B", T1),
        Binding("T2", "A", T0),
        Binding("T2", "C", datetime(2026, 3, 1, tzinfo=UTC)),
    ]
    (c,) = find_conflicts({}, [], bindings)
    assert (c.kind, c.device_id, c.asset_ids) == ("terminal", "T2", ("A", "C"))


def test_canonical_json_is_stable() -> None:
    a = canonical_json({"b": 1, "a": [1.5, "é"], "t": datetime(2026, 1, 1, tzinfo=UTC)})
    assert a == '{"a":[1.5,"é"],"b":1,"t":"2026-01-01T00:00:00.000000Z"}'
    with pytest.raises(ValueError, match="Out of range float"):
        canonical_json({"x": float("nan")})
