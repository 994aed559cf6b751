// Alert queue: list with filters, live updates from the SSE feed, triage buttons.
"use strict";
(function () {
  const rows = document.getElementById("alert-rows");
  const form = document.getElementById("filters");
  const feedState = document.getElementById("feed-state");
  const seen = new Set();
  let first = true;

  function query() {
    const params = new URLSearchParams();
    for (const [k, v] of new FormData(form).entries()) { if (v) { params.set(k, v); } }
    if (!params.has("status")) { params.set("status", "active"); }
    params.set("limit", "100");
    return params.toString();
  }

  function button(label, cls, onClick) {
    const b = AW.el("button", { type: "button", class: cls }, label);
    b.addEventListener("click", (ev) => { ev.stopPropagation(); onClick(); });
    return b;
  }

  async function act(id, action, body) {
    try {
      await AW.api("/api/alerts/" + id + "/" + action, { method: "POST", body: body || {} });
    } catch (err) {
      alert(action + " failed: " + err.message);
    }
    await load();
  }

  function render(items) {
    rows.replaceChildren();
    for (const a of items) {
      const tr = AW.el("tr", { "data-alert-id": a.id, "data-status": a.status, "data-level": a.level });
      if (!first && !seen.has(a.id)) { tr.classList.add("new"); }
      seen.add(a.id);
      const cells = [a.id, null, a.kind, a.asset_id, a.borrower_name || a.borrower_id, a.region, AW.time(a.last_seen), a.status, a.assignee || ""];
      cells.forEach((c, i) => {
        const td = AW.el("td", {}, i === 1 ? null : c);
        if (i === 1) { td.appendChild(AW.levelBadge(a.level)); }
        if (i === 3) { td.replaceChildren(AW.el("a", { href: "/assets/" + encodeURIComponent(a.asset_id) }, a.asset_id)); }
        if (i === 7) { td.className = "status"; }
        tr.appendChild(td);
      });
      const triage = AW.el("td", { class: "triage" });
      if (a.status === "open") { triage.appendChild(button("Acknowledge", "ack", () => act(a.id, "acknowledge"))); }
      if (a.status !== "resolved") {
        triage.appendChild(button("Assign", "assign", () => {
          const who = prompt("Assign alert " + a.id + " to:");
          if (who) { act(a.id, "assign", { assignee: who }); }
        }));
        triage.appendChild(button("Resolve", "resolve", () => openResolve(a.id)));
      }
      tr.appendChild(triage);
      tr.addEventListener("click", () => showDetail(a.id));
      rows.appendChild(tr);
    }
    first = false;
  }

  async function showDetail(id) {
    const pre = document.getElementById("alert-detail");
    try {
      pre.textContent = JSON.stringify(await AW.api("/api/alerts/" + id), null, 2);
      pre.closest("details").open = true;
    } catch (err) { pre.textContent = err.message; }
  }

  function openResolve(id) {
    const dlg = document.getElementById("resolve-dialog");
    const f = document.getElementById("resolve-form");
    document.getElementById("resolve-id").textContent = id;
    f.reset();
    dlg.onclose = () => {
      if (dlg.returnValue === "ok") {
        const data = new FormData(f);
        act(id, "resolve", { outcome: data.get("outcome"), note: data.get("note") });
      }
    };
    dlg.showModal();
  }

  async function load() {
    try {
      const page = await AW.api("/api/alerts?" + query());
      render(page.items);
      document.getElementById("alerts-more").textContent =
        page.next_offset === null ? page.items.length + " alerts" : "first " + page.items.length + " alerts shown";
    } catch (err) {
      document.getElementById("alerts-more").textContent = "could not load alerts: " + err.message;
    }
  }

  function connect() {
    // EventSource reconnects by itself and sends Last-Event-ID, so no event is lost.
    const source = new EventSource("/api/feed/alerts");
    let pending = null;
    const refresh = () => { if (!pending) { pending = setTimeout(() => { pending = null; load(); }, 150); } };
    source.onopen = () => { feedState.textContent = "live"; feedState.className = "badge live"; };
    source.onerror = () => { feedState.textContent = "reconnecting…"; feedState.className = "badge"; };
    source.onmessage = refresh;
    for (const type of ["opened", "raised", "updated", "escalated", "acknowledged", "assigned", "resolved", "cleared", "reopened", "alert"]) {
      source.addEventListener(type, refresh);
    }
  }

  form.addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
  load().then(connect);
})();
