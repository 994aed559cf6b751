"""Provenance reports for credit staff: is the asset real, where declared, operating as
declared, not pledged elsewhere -- with an evidence digest that proves later that
neither the report nor the readings behind it changed.

Gateway: ``build_report(conn, asset_id, days=180)`` -> JSON-ready dict;
``render_html(report)`` -> str; ``verify_report(conn, report)`` -> VerifyResult.
"""

from __future__ import annotations

from collateral.provenance.render import render_html
from collateral.provenance.report import (
    FORMAT,
    ReportTiming,
    VerifyResult,
    build_report,
    verify_report,
)

__all__ = [
    "FORMAT",
    "ReportTiming",
    "VerifyResult",
    "build_report",
    "render_html",
    "verify_report",
]
