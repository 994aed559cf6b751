// Shared helpers for the dashboard pages: JSON API calls with the login cookie,
// level colours and time formatting. Plain browser JavaScript, no libraries.
"use strict";
const AW = {
  LEVELS: ["red", "orange", "yellow", "watch"],
  RANK: { red: 4, orange: 3, yellow: 2, watch: 1 },
  COLOURS: { red: "#d62728", orange: "#ff7f0e", yellow: "#e6c200", watch: "#1f77b4", ok: "#2ca02c" },
  async api(path, options) {
    const opts = Object.assign({ credentials: "same-origin", headers: {} }, options || {});
    if (opts.body && typeof opts.body !== "string") {
      opts.body = JSON.stringify(opts.body);
      opts.headers["Content-Type"] = "application/json";
    }
    const resp = await fetch(path, opts);
    if (resp.status === 401) { window.location = "/login?next=" + encodeURIComponent(location.pathname); }
    const text = await resp.text();
    const data = text ? JSON.parse(text) : null;
    if (!resp.ok) { throw new Error((data && data.detail) || resp.statusText); }
    return data;
  },
  time(value) { return value ? new Date(value).toISOString().replace("T", " ").slice(0, 19) : ""; },
  el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) { node.setAttribute(k, v); }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  },
  levelBadge(level) { return AW.el("span", { class: "lvl " + level }, level); },
};
