// Portfolio view: open alerts and exposure grouped by one dimension and level.
"use strict";
(function () {
  const form = document.getElementById("dimension");
  const body = document.getElementById("portfolio-rows");
  async function load() {
    const by = new FormData(form).get("by");
    try {
      const rows = await AW.api("/api/portfolio/concentration?by=" + encodeURIComponent(by));
      body.replaceChildren();
      for (const r of rows) {
        const tr = AW.el("tr", {});
        tr.append(AW.el("td", {}, r.group || "(none)"), AW.el("td", {}), AW.el("td", {}, r.open_alerts),
          AW.el("td", {}, r.assets), AW.el("td", {}, r.loans), AW.el("td", {}, Number(r.exposure || 0).toLocaleString()));
        tr.children[1].appendChild(AW.levelBadge(r.level));
        body.appendChild(tr);
      }
      if (!rows.length) { body.appendChild(AW.el("tr", {}, "no open alerts")); }
    } catch (err) { body.replaceChildren(AW.el("tr", {}, err.message)); }
  }
  form.addEventListener("change", load);
  load();
})();
