// Provenance page: create a report through the API and show its printable HTML.
"use strict";
(function () {
  const section = document.getElementById("prov");
  const assetId = section.dataset.assetId;
  const status = document.getElementById("prov-status");
  document.getElementById("prov-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const days = Number(new FormData(ev.target).get("days"));
    status.textContent = "building…";
    try {
      const report = await AW.api("/api/provenance", { method: "POST", body: { asset_id: assetId, days } });
      status.textContent = "report " + report.id + " · digest " + report.digest;
      document.getElementById("prov-report").src = "/api/provenance/" + encodeURIComponent(report.id) + "/html";
    } catch (err) { status.textContent = "failed: " + err.message; }
  });
})();
