"""collateral: the bank's side of the data.

The registry (borrowers, loans, assets, terminals, bindings and pledges with
history), pledged zones, the tamper-evident audit chain and the provenance
report. Public entry points, by caller:

* ingest: :func:`collateral.lookup.load_terminal_index` (protocol identifier ->
  device_id, cadence, device profile mapping).
* detectors: :func:`collateral.lookup.load_binding_index`,
  :func:`collateral.lookup.load_assets`, :func:`collateral.lookup.load_zone_index`
  (:class:`collateral.zones.ZoneIndex`), :func:`collateral.registry.list_conflicts`,
  :func:`collateral.audit.append`.
* gateway: :mod:`collateral.registry` (import/export, bind, pledge ...),
  :mod:`collateral.provenance` (``build_report``, ``render_html``,
  ``verify_report``), :func:`collateral.audit.verify`, :func:`collateral.audit.history`.

Names are imported from their modules (``from collateral.zones import ZoneIndex``);
this package does not import them eagerly, so ``import collateral`` stays cheap.
"""

from __future__ import annotations

__all__ = [
    "assets_csv",
    "audit",
    "canonical",
    "conflicts",
    "document",
    "elements",
    "errors",
    "geo",
    "geojson",
    "identity",
    "importing",
    "lookup",
    "model",
    "provenance",
    "registry",
    "state",
    "zones",
]
