// Asset page: track on the SVG map, operating hours per day as bars, the asset's alerts.
"use strict";
(function () {
  const section = document.getElementById("asset");
  const assetId = section.dataset.assetId;
  const form = document.getElementById("window");
  const now = new Date();
  const local = (d) => new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  form.start.value = local(new Date(now.getTime() - 7 * 86400000));
  form.end.value = local(now);

  function iso(value) { return new Date(value).toISOString(); }

  async function drawTrack(start, end, simplify) {
    const status = document.getElementById("map-status");
    const params = new URLSearchParams({ start, end });
    if (Number(simplify) > 0) { params.set("simplify_m", simplify); }
    try {
      const [track, zones] = await Promise.all([
        AW.api("/api/telemetry/assets/" + encodeURIComponent(assetId) + "/track?" + params),
        AW.api("/api/zones?asset_id=" + encodeURIComponent(assetId)),
      ]);
      AWMap.draw(AWMap.create(document.getElementById("map")), zones.features, track.features, []);
      const n = track.features.reduce((s, f) => s + f.geometry.coordinates.length, 0);
      status.textContent = n + " track points";
    } catch (err) { status.textContent = "no track: " + err.message; }
  }

  async function drawHours(start, end) {
    const svg = document.getElementById("hours");
    svg.replaceChildren();
    let days = [];
    try {
      days = await AW.api("/api/telemetry/assets/" + encodeURIComponent(assetId) + "/daily?" + new URLSearchParams({ start, end }));
    } catch (err) {
      svg.appendChild(AWMap.node("text", { x: 10, y: 20 })).textContent = "no data: " + err.message;
      return;
    }
    const hours = days.map((d) => (d.operating_minutes != null ? d.operating_minutes / 60 : (d.operating_hours || 0)));
    const max = Math.max(1, ...hours);
    const w = 560 / Math.max(1, days.length);
    days.forEach((d, i) => {
      const h = (hours[i] / max) * 200;
      const bw = Math.max(1, Math.min(w - 2, 40));
      const bar = AWMap.node("rect", { x: 30 + i * w + (w - bw) / 2, y: 220 - h, width: bw, height: h, fill: "#1f77b4" });
      bar.appendChild(AWMap.node("title", {})).textContent = String(d.day || d.date || "").slice(0, 10) + ": " + hours[i].toFixed(1) + " h";
      svg.appendChild(bar);
      if (days.length <= 31 && (days.length <= 10 || i % 5 === 0)) {
        const label = AWMap.node("text", { x: 30 + i * w + w / 2, y: 236, "font-size": 10, "text-anchor": "middle" });
        label.textContent = String(d.day || "").slice(5, 10);
        svg.appendChild(label);
      }
    });
    svg.appendChild(AWMap.node("text", { x: 2, y: 20, "font-size": 11 })).textContent = max.toFixed(1) + " h";
    svg.appendChild(AWMap.node("line", { x1: 30, y1: 220, x2: 590, y2: 220, stroke: "#888" }));
  }

  async function listAlerts() {
    const body = document.getElementById("asset-alerts");
    try {
      const page = await AW.api("/api/alerts?status=all&asset_id=" + encodeURIComponent(assetId));
      body.replaceChildren();
      for (const a of page.items) {
        const tr = AW.el("tr", {});
        tr.append(AW.el("td", {}, a.id), AW.el("td", {}), AW.el("td", {}, a.kind), AW.el("td", {}, a.status), AW.el("td", {}, AW.time(a.last_seen)));
        tr.children[1].appendChild(AW.levelBadge(a.level));
        body.appendChild(tr);
      }
    } catch (err) { body.replaceChildren(AW.el("tr", {}, err.message)); }
  }

  function show() {
    const start = iso(form.start.value), end = iso(form.end.value);
    drawTrack(start, end, form.simplify.value);
    drawHours(start, end);
  }
  form.addEventListener("submit", (ev) => { ev.preventDefault(); show(); });
  show();
  listAlerts();
})();
