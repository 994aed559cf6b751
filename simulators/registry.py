"""The registry seed: the fleet as ``assetwatch registry import`` reads it.

Format ``assetwatch-registry/1`` exactly as agreed in the common notes:
borrowers, loans, assets (identity, declared operations, stationary),
terminals (protocol identifiers, expected cadence, satellite), bindings,
pledges, zones (pledged, as GeoJSON, plus a small base zone) and the
LoRaWAN device profiles. Double pledges scripted by the scenario appear here
as the extra assets, bindings and pledges that express them.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from simulators.codecs.chirpstack import PROFILES
from simulators.geo import Box
from simulators.incidents import IncidentPlan
from simulators.portfolio import Asset, Fleet
from simulators.timebase import rfc3339, to_datetime

FORMAT = "assetwatch-registry/1"


def _asset_row(a: Asset) -> dict[str, Any]:
    return {
        "id": a.asset_id,
        "borrower_id": a.borrower_id,
        "class": a.cls,
        "name": a.name,
        "identity": dict(a.identity),
        "declared": dict(a.declared),
        "stationary": a.stationary,
    }


def registry_document(fleet: Fleet, plan: IncidentPlan, *, start: float) -> dict[str, Any]:
    """The whole registry as a JSON-ready dict (deterministic key and row order)."""
    origin = start - 365 * 86_400.0
    since = rfc3339(origin)
    start_day = to_datetime(origin).date()
    end_day = date(start_day.year + 3, start_day.month, min(start_day.day, 28))
    extras = plan.extras
    borrowers = [
        {
            "id": b.borrower_id,
            "name": b.name,
            "industry": b.industry,
            "region": b.region,
            "officer": b.officer,
        }
        for b in fleet.borrowers
    ]
    loans = [
        {
            "id": ln.loan_id,
            "borrower_id": ln.borrower_id,
            "amount": ln.amount,
            "currency": "CNY",
            "product": ln.product,
            "start": start_day.isoformat(),
            "end": end_day.isoformat(),
            "status": "active",
        }
        for ln in fleet.loans
    ]
    by_id = {ln.loan_id: ln for ln in fleet.loans}
    for loan_id, borrower_id in extras.loans:
        like = by_id.get(loan_id.split("-DP")[0])  # the original loan it copies
        loans.append(
            {
                "id": loan_id,
                "borrower_id": borrower_id,
                "amount": like.amount if like else 1_000_000,
                "currency": "CNY",
                "product": like.product if like else "working_capital",
                "start": start_day.isoformat(),
                "end": end_day.isoformat(),
                "status": "active",
            }
        )
    assets = [_asset_row(a) for a in (*fleet.assets, *extras.assets)]
    terminals = []
    for t in fleet.terminals:
        row: dict[str, Any] = {
            "device_id": t.device_id,
            "protocol": t.protocol,
            "expected_interval_s": t.expected_interval_s,
            "satellite": t.satellite,
        }
        for key in ("jt808_phone", "mmsi", "dev_eui", "aemp_serial", "device_profile"):
            value = getattr(t, key)
            if value is not None:
                row[key] = value
        terminals.append(row)
    bindings = [
        {
            "device_id": t.device_id,
            "asset_id": t.asset_id,
            "from": since,
            "by": "seed",
            "why": "installation",
        }
        for t in fleet.terminals
    ]
    bindings += [
        {"device_id": d, "asset_id": a, "from": rfc3339(t), "by": "seed", "why": why}
        for d, a, t, why in extras.bindings
    ]
    pledges = [
        {
            "asset_id": a.asset_id,
            "loan_id": a.loan_id,
            "from": since,
            "by": "seed",
            "why": "loan origination",
        }
        for a in fleet.assets
    ]
    pledges += [
        {"asset_id": a, "loan_id": ln, "from": rfc3339(t), "by": "seed", "why": why}
        for a, ln, t, why in extras.pledges
    ]
    zones = []
    for n, a in enumerate((*fleet.assets, *extras.assets), start=1):
        zones.append(
            {
                "id": f"Z{n:05d}",
                "asset_id": a.asset_id,
                "kind": "pledged",
                "name": f"{a.name} pledged area",
                "buffer_m": a.buffer_m,
                "geometry": a.zone.geojson(),
            }
        )
        base = Box.around(a.base.lat, a.base.lon, 150, 150)
        zones.append(
            {
                "id": f"Z{n:05d}B",
                "asset_id": a.asset_id,
                "kind": "base",
                "name": a.base.name,
                "buffer_m": 50,
                "geometry": base.geojson(),
            }
        )
    profiles = [{"name": name, "mapping": mapping} for name, mapping in PROFILES.items()]
    return {
        "format": FORMAT,
        "borrowers": borrowers,
        "loans": loans,
        "assets": assets,
        "terminals": terminals,
        "bindings": bindings,
        "pledges": pledges,
        "zones": zones,
        "device_profiles": profiles,
    }


def write_registry(doc: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
