// A small SVG map: equirectangular projection fitted to the data, no tiles.
// Zones (GeoJSON polygons) are outlined, tracks drawn as polylines, assets as dots.
"use strict";
const SVGNS = "http://www.w3.org/2000/svg";
const AWMap = {
  create(svg) {
    return { svg, bounds: null, layers: [] };
  },
  extend(map, lon, lat) {
    if (!isFinite(lon) || !isFinite(lat)) { return; }
    const b = map.bounds || { w: lon, e: lon, s: lat, n: lat };
    b.w = Math.min(b.w, lon); b.e = Math.max(b.e, lon); b.s = Math.min(b.s, lat); b.n = Math.max(b.n, lat);
    map.bounds = b;
  },
  eachCoord(geom, fn) {
    if (!geom) { return; }
    const walk = (c) => { if (typeof c[0] === "number") { fn(c[0], c[1]); } else { c.forEach(walk); } };
    walk(geom.coordinates || []);
  },
  project(map) {
    const b = map.bounds || { w: 73, e: 135, s: 18, n: 54 };
    const pad = Math.max((b.e - b.w), (b.n - b.s), 0.01) * 0.08;
    const w = b.w - pad, e = b.e + pad, s = b.s - pad, n = b.n + pad;
    const k = Math.cos(((s + n) / 2) * Math.PI / 180);
    const sx = 1000 / ((e - w) * k), sy = 600 / (n - s), scale = Math.min(sx, sy);
    const ox = (1000 - (e - w) * k * scale) / 2, oy = (600 - (n - s) * scale) / 2;
    return (lon, lat) => [ox + (lon - w) * k * scale, oy + (n - lat) * scale];
  },
  node(tag, attrs) {
    const n = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs)) { n.setAttribute(k, v); }
    return n;
  },
  draw(map, zones, tracks, points) {
    for (const f of zones) { AWMap.eachCoord(f.geometry, (x, y) => AWMap.extend(map, x, y)); }
    for (const f of tracks) { AWMap.eachCoord(f.geometry, (x, y) => AWMap.extend(map, x, y)); }
    for (const p of points) { AWMap.extend(map, p.lon, p.lat); }
    const proj = AWMap.project(map);
    map.svg.replaceChildren();
    const rings = (geom) => {
      if (!geom) { return []; }
      if (geom.type === "Polygon") { return geom.coordinates; }
      if (geom.type === "MultiPolygon") { return geom.coordinates.flat(); }
      return [];
    };
    for (const f of zones) {
      for (const ring of rings(f.geometry)) {
        const pts = ring.map(([x, y]) => proj(x, y).join(",")).join(" ");
        const poly = AWMap.node("polygon", { points: pts, class: "zone", fill: "rgba(31,119,180,.08)", stroke: "#1f77b4", "stroke-dasharray": "4 3" });
        poly.appendChild(AWMap.node("title", {})).textContent = (f.properties && f.properties.name) || f.id;
        map.svg.appendChild(poly);
      }
    }
    for (const f of tracks) {
      const coords = (f.geometry && f.geometry.coordinates) || [];
      if (coords.length < 1) { continue; }
      const pts = coords.map(([x, y]) => proj(x, y).join(",")).join(" ");
      map.svg.appendChild(AWMap.node("polyline", { points: pts, fill: "none", stroke: "#444", "stroke-width": 2, class: "track" }));
      const [ex, ey] = proj(coords[coords.length - 1][0], coords[coords.length - 1][1]);
      map.svg.appendChild(AWMap.node("circle", { cx: ex, cy: ey, r: 5, fill: "#444" }));
    }
    for (const p of points) {
      if (p.lat == null || p.lon == null) { continue; }
      const [x, y] = proj(p.lon, p.lat);
      const link = AWMap.node("a", { href: "/assets/" + encodeURIComponent(p.asset_id) });
      const dot = AWMap.node("circle", { cx: x, cy: y, r: 6, fill: AW.COLOURS[p.level || "ok"], stroke: "#fff", "stroke-width": 1.5, class: "asset", "data-asset-id": p.asset_id, "data-level": p.level || "ok" });
      dot.appendChild(AWMap.node("title", {})).textContent = p.asset_id + " · " + (p.level || "no open alert") + " · " + AW.time(p.ts);
      link.appendChild(dot);
      map.svg.appendChild(link);
    }
  },
};

async function loadOverviewMap() {
  const svg = document.getElementById("map");
  const status = document.getElementById("map-status");
  if (!svg || document.getElementById("asset")) { return; }
  try {
    const [latest, zones, alerts] = await Promise.all([
      AW.api("/api/telemetry/latest"),
      AW.api("/api/zones"),
      AW.api("/api/alerts?status=active&limit=1000"),
    ]);
    const worst = {};
    for (const a of alerts.items) {
      if (!worst[a.asset_id] || AW.RANK[a.level] > AW.RANK[worst[a.asset_id]]) { worst[a.asset_id] = a.level; }
    }
    const points = latest.map((s) => Object.assign({}, s, { level: worst[s.asset_id] }));
    AWMap.draw(AWMap.create(svg), zones.features, [], points);
    status.textContent = points.length + " assets, " + zones.features.length + " zones, " + alerts.items.length + " active alerts";
  } catch (err) {
    status.textContent = "could not load the map: " + err.message;
  }
}
document.addEventListener("DOMContentLoaded", loadOverviewMap);
