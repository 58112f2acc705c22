/* chainsleuth web UI: search, an expandable graph (Cytoscape.js), traced flows with exit points, tags and
   notes, saved case views, and the incident dashboard with its drain-wave timeline. All data comes from the
   REST API of the same server; amounts are exact base-unit strings formatted here with BigInt. */
"use strict";

const API = "/api/v1";
const COLORS = {source: "#c0392b", attacker: "#c0392b", exchange: "#2471a3", hot_wallet: "#2471a3", deposit: "#2471a3",
  otc: "#2471a3", mixer: "#8e44ad", coinjoin: "#8e44ad", bridge: "#d68910", dex: "#d68910", defi: "#d68910",
  sanctioned: "#000000", hacker: "#e74c3c", victim: "#f5b041", resting: "#b3b6b7", other: "#16a085", none: "#85929e"};
const state = {assets: {}, chain: "ethereum", selected: null, trace: null};
const $ = (sel) => document.querySelector(sel);

function esc(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
}
function short(a) { return a && a.length > 14 ? a.slice(0, 8) + "…" + a.slice(-4) : a; }
function usd(v) { return v === null || v === undefined ? "" : "$" + Number(v).toLocaleString(undefined, {maximumFractionDigits: 0}); }
function status(msg, error = false) { const s = $("#status"); s.textContent = msg; s.className = error ? "error" : ""; }

function fmtAmount(amount, asset, chain) {
  const u = (state.assets[chain || state.chain] || {})[asset] || {symbol: asset, decimals: null};
  if (amount === null || amount === undefined) return "";
  let v = BigInt(amount);
  const d = u.decimals;
  if (!d) return v.toLocaleString() + " " + (u.symbol || asset);
  const neg = v < 0n; if (neg) v = -v;
  const base = 10n ** BigInt(d);
  const whole = v / base;
  let frac = (v % base).toString().padStart(d, "0").slice(0, 6).replace(/0+$/, "");
  return (neg ? "-" : "") + whole.toLocaleString() + (frac ? "." + frac : "") + " " + (u.symbol || asset);
}

async function api(path, opts = {}) {
  const headers = Object.assign({"Accept": "application/json"}, opts.headers || {});
  const token = $("#token").value.trim();
  if (token) headers["Authorization"] = "Bearer " + token;
  if (opts.body && typeof opts.body !== "string") { opts.body = JSON.stringify(opts.body); headers["Content-Type"] = "application/json"; }
  const r = await fetch(API + path, Object.assign({}, opts, {headers}));
  const data = await r.json().catch(() => ({error: r.statusText}));
  if (!r.ok) throw new Error(data.error || ("HTTP " + r.status));
  return data;
}

async function loadAssets(chain) {
  if (state.assets[chain]) return;
  const r = await api("/assets?chain=" + encodeURIComponent(chain));
  state.assets[chain] = Object.fromEntries(r.items.map((a) => [a.asset, a]));
}

/* ---------------------------------------------------------------- graph */
const cy = cytoscape({
  container: $("#cy"),
  wheelSensitivity: 0.3,
  style: [
    {selector: "node", style: {"background-color": "data(color)", "label": "data(name)", "font-size": 9, "color": "#1c2833",
      "text-valign": "bottom", "text-margin-y": 3, "width": 18, "height": 18, "border-width": 1, "border-color": "#fff"}},
    {selector: "node.exit", style: {"width": 26, "height": 26, "border-width": 3, "border-color": "#1b4f72"}},
    {selector: "node.source", style: {"shape": "diamond", "width": 26, "height": 26}},
    {selector: "node:selected", style: {"border-width": 4, "border-color": "#f1c40f"}},
    {selector: "edge", style: {"width": "data(w)", "line-color": "#aab7b8", "target-arrow-color": "#aab7b8",
      "target-arrow-shape": "triangle", "curve-style": "bezier", "label": "data(label)", "font-size": 8,
      "text-rotation": "autorotate", "text-background-color": "#fff", "text-background-opacity": 0.8, "text-background-padding": 1}},
    {selector: "edge.traced", style: {"line-color": "#c0392b", "target-arrow-color": "#c0392b"}},
  ],
  layout: {name: "grid"},
});

function nodeId(chain, address) { return chain + ":" + address; }

function upsertNode(chain, address, info = {}) {
  const id = nodeId(chain, address);
  let n = cy.getElementById(id);
  const label = info.label || info.entity || null;
  const cat = info.category || null;
  if (n.empty()) {
    n = cy.add({group: "nodes", data: {id, chain, address, label, category: cat, name: label || short(address),
      color: COLORS[cat] || COLORS.none}});
  } else if (label && !n.data("label")) {
    n.data({label, category: cat, name: label, color: COLORS[cat] || COLORS.none});
  }
  return n;
}

function upsertEdge(chain, from, to, asset, amount, extra = {}) {
  const id = "e:" + chain + ":" + from + ">" + to + ":" + asset + (extra.traced ? ":t" : "");
  let e = cy.getElementById(id);
  if (e.empty()) {
    e = cy.add({group: "edges", data: {id, source: nodeId(chain, from), target: nodeId(chain, to), chain, asset,
      amount: String(amount), label: fmtAmount(amount, asset, chain), w: 1.5, txs: extra.tx_hashes || []}});
  }
  else if (extra.traced) {  // several tainted transfers on one link: show their sum
    const txs = e.data("txs");
    if (!txs.includes((extra.tx_hashes || [])[0])) {
      const sum = (BigInt(e.data("amount")) + BigInt(amount)).toString();
      e.data({amount: sum, label: fmtAmount(sum, asset, chain), txs: txs.concat(extra.tx_hashes || [])});
    }
  }
  if (extra.traced) e.addClass("traced");
  return e;
}

function relayout() {
  cy.layout({name: "breadthfirst", directed: true, spacingFactor: 1.1, animate: false,
    roots: cy.nodes(".source").length ? cy.nodes(".source") : undefined}).run();
}

async function expand(node) {
  const chain = node.data("chain"), address = node.data("address");
  status("expanding " + short(address) + "…");
  await loadAssets(chain);
  const r = await api(`/chains/${chain}/addresses/${encodeURIComponent(address)}/neighbours?limit=25`);
  for (const it of r.items) {
    upsertNode(chain, it.address, it);
    if (it.direction === "in") upsertEdge(chain, it.address, address, it.asset, it.amount, it);
    else upsertEdge(chain, address, it.address, it.asset, it.amount, it);
  }
  node.data("expanded", true);
  relayout();
  status(`${r.items.length} of ${r.total} counterparties of ${short(address)}`);
}

async function showDetails(node) {
  state.selected = node;
  $("#btn-expand").disabled = false; $("#btn-trace").disabled = false;
  const chain = node.data("chain"), address = node.data("address");
  const box = $("#details");
  box.innerHTML = `<h2>Details</h2><p><code>${esc(address)}</code> <span class="badge">${esc(chain)}</span></p><p class="muted">loading…</p>`;
  try {
    await loadAssets(chain);
    const p = await api(`/chains/${chain}/addresses/${encodeURIComponent(address)}`);
    const lab = p.label ? `<p><b>${esc(p.label.label)}</b> <span class="badge">${esc(p.label.category || "")}</span>
      <span class="muted">via ${esc(p.label.via)}</span></p>` : `<p class="muted">no label</p>`;
    const assets = p.assets.map((a) => `<tr><td>${esc(a.asset === (state.assets[chain][a.asset] || {}).asset ? state.assets[chain][a.asset].symbol : a.asset)}</td>
      <td class="num">${esc(fmtAmount(a.received, a.asset, chain))}</td><td class="num">${esc(fmtAmount(a.sent, a.asset, chain))}</td>
      <td class="num">${a.transfers_in}/${a.transfers_out}</td></tr>`).join("");
    const tags = p.tags.map((t) => `<li>${esc(t.label)} <span class="badge">${esc(t.category || "")}</span> <span class="muted">${esc(t.source)}</span></li>`).join("");
    const notes = p.notes.map((n) => `<li>${esc(n.note)} <span class="muted">— ${esc(n.added_by)}</span></li>`).join("");
    box.innerHTML = `<h2>Details</h2><p><code>${esc(address)}</code> <span class="badge">${esc(chain)}</span>
      ${p.watch && p.watch.active ? '<span class="badge risk-high">watched</span>' : ""}</p>${lab}
      <table><tr><th>asset</th><th class="num">received</th><th class="num">sent</th><th class="num">in/out</th></tr>${assets}</table>
      <div id="screen-box"><button type="button" id="btn-screen">Screen exposure</button></div>
      <h3>Tags</h3><ul id="tag-list">${tags || '<li class="muted">none</li>'}</ul>
      <form class="inline" id="tag-form"><input name="label" placeholder="label" required>
        <select name="category"><option value="">category</option>${["exchange","deposit","hot_wallet","otc","mixer","bridge","dex","hacker","victim","scam","sanctioned","other"].map((c) => `<option>${c}</option>`).join("")}</select>
        <button>Add tag</button></form>
      <h3>Notes</h3><ul id="note-list">${notes || '<li class="muted">none</li>'}</ul>
      <form class="inline" id="note-form"><input name="note" placeholder="note" required size="30"><button>Add note</button></form>`;
    $("#btn-screen").onclick = () => screenAddress(chain, address);
    $("#tag-form").onsubmit = (ev) => { ev.preventDefault(); addTag(chain, address, new FormData(ev.target)); };
    $("#note-form").onsubmit = (ev) => { ev.preventDefault(); addNote(chain, address, new FormData(ev.target)); };
  } catch (err) { box.innerHTML += `<p class="error">${esc(err.message)}</p>`; }
}

async function screenAddress(chain, address) {
  const box = $("#screen-box");
  box.innerHTML = '<span class="muted">screening…</span>';
  try {
    const r = await api(`/screen/${chain}/${encodeURIComponent(address)}`);
    const pct = (x) => (100 * x).toFixed(2) + "%";
    box.innerHTML = `<p>Risk <span class="badge risk-${r.risk.level}">${r.risk.level}</span></p>
      <table><tr><th></th><th class="num">direct</th><th class="num">indirect</th></tr>
      ${["incident", "sanctioned", "mixer"].map((k) => `<tr><td>${k}</td><td class="num">${pct(r.exposure[k].direct)}</td><td class="num">${pct(r.exposure[k].indirect)}</td></tr>`).join("")}
      </table><ul>${r.risk.reasons.map((x) => `<li>${esc(x)}</li>`).join("")}</ul>`;
  } catch (err) { box.innerHTML = `<p class="error">${esc(err.message)}</p>`; }
}

async function addTag(chain, address, form) {
  try {
    await api("/tags", {method: "POST", body: {chain, address, label: form.get("label"), category: form.get("category") || null}});
    status("tag added");
    showDetails(state.selected);
  } catch (err) { status(err.message, true); }
}

async function addNote(chain, address, form) {
  try {
    await api("/notes", {method: "POST", body: {chain, address, note: form.get("note")}});
    status("note added");
    showDetails(state.selected);
  } catch (err) { status(err.message, true); }
}

/* ---------------------------------------------------------------- tracing */
async function traceFrom(sources, chain, after = null) {
  status("tracing…");
  await loadAssets(chain);
  const body = {sources, chain, model: $("#trace-model").value, max_hops: Number($("#trace-hops").value) || 12};
  if (after) body.after = after;
  const t = await api("/trace", {method: "POST", body});
  // a trace may cross a bridge: load decimals of every chain it reached so amounts are scaled right
  for (const c of new Set([...t.edges, ...t.exits, ...(t.resting || [])].map((x) => x.chain).filter(Boolean))) await loadAssets(c);
  state.trace = t;
  for (const s of sources) upsertNode(chain, s).addClass("source");
  for (const e of t.edges) {
    if (!e.from || !e.to) continue;  // fees paid to the block producer
    upsertNode(e.chain, e.from); upsertNode(e.chain, e.to);
    upsertEdge(e.chain, e.from, e.to, e.asset, e.amount, {traced: true, tx_hashes: [e.tx_hash]});
  }
  for (const x of t.exits) upsertNode(x.chain, x.address, x).addClass("exit");
  for (const r of t.resting || []) upsertNode(r.chain, r.address, {category: "resting"});
  relayout();
  renderExits(t);
  status(`traced ${t.edges.length} transfers to ${t.exits.length} exit points`);
}

function renderExits(t) {
  $("#trace-panel").hidden = false;
  const total = t.exits.reduce((s, x) => s + (x.usd || 0), 0);
  $("#trace-summary").innerHTML = `<p>${t.exits.length} exit points, ${usd(total)} · model ${esc(t.model)} ·
    ${(t.resting || []).length} unresolved addresses</p>`;
  const rows = [...t.exits].sort((a, b) => (b.usd || 0) - (a.usd || 0)).map((x) =>
    `<tr class="clickable exit-row" data-chain="${esc(x.chain)}" data-address="${esc(x.address)}" data-amount="${esc(x.amount)}" data-asset="${esc(x.asset)}">
      <td>${esc(x.entity || x.label || "")}<br><code>${esc(x.address)}</code></td><td>${esc(x.category || "")}</td>
      <td class="num">${esc(fmtAmount(x.amount, x.asset, x.chain))}</td><td class="num">${usd(x.usd)}</td></tr>`).join("");
  $("#exits tbody").innerHTML = rows;
  for (const tr of document.querySelectorAll("#exits tr.exit-row")) {
    tr.onclick = () => { const n = cy.getElementById(nodeId(tr.dataset.chain, tr.dataset.address)); cy.$(":selected").unselect(); n.select(); cy.center(n); showDetails(n); };
  }
}

/* ---------------------------------------------------------------- incidents */
async function showIncidents() {
  const box = $("#incident-panel");
  box.hidden = false;
  const r = await api("/incidents?limit=50");
  box.innerHTML = `<h2>Incidents</h2><table><tr><th>incident</th><th>window</th><th class="num">victims</th><th class="num">loss</th></tr>
    ${r.items.map((i) => `<tr class="clickable incident-row" data-id="${esc(i.id)}"><td><code>${esc(i.id)}</code></td>
      <td>${esc(String(i.window.start).replace("T", " ").slice(0, 16))}</td><td class="num">${i.victim_count}</td>
      <td class="num">${usd(i.loss_usd)}</td></tr>`).join("")}</table>${r.items.length ? "" : '<p class="muted">No incidents detected yet (run <code>chainsleuth incidents</code>).</p>'}`;
  for (const tr of box.querySelectorAll("tr.incident-row")) tr.onclick = () => openIncident(tr.dataset.id);
}

function timelineSvg(points) {
  if (!points.length) return "";
  const ts = points.map((p) => new Date(p.time + (String(p.time).endsWith("Z") ? "" : "Z")).getTime());
  const t0 = Math.min(...ts), t1 = Math.max(...ts), span = Math.max(t1 - t0, 60000);
  const vmax = Math.max(...points.map((p) => p.usd || 1));
  const W = 400, H = 120;
  const bars = points.map((p, i) => {
    const x = 20 + (ts[i] - t0) / span * (W - 40);
    const h = Math.max(2, (p.usd || 1) / vmax * (H - 30));
    return `<rect x="${x.toFixed(1)}" y="${(H - 15 - h).toFixed(1)}" width="3" height="${h.toFixed(1)}"><title>${esc(p.address)} ${usd(p.usd)} ${esc(p.time)}</title></rect>`;
  }).join("");
  const lbl = (t) => new Date(t).toISOString().replace("T", " ").slice(0, 16);
  return `<svg class="timeline" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="drain-wave timeline">${bars}
    <text x="20" y="${H - 2}">${lbl(t0)}</text><text x="${W - 20}" y="${H - 2}" text-anchor="end">${lbl(t1)}</text></svg>`;
}

async function openIncident(id) {
  const box = $("#incident-panel");
  box.hidden = false;
  box.innerHTML = `<h2>Incident ${esc(id)}</h2><p class="muted">loading…</p>`;
  const d = await api("/incidents/" + encodeURIComponent(id));
  state.chain = d.chain; $("#chain").value = d.chain;
  await loadAssets(d.chain);
  const losses = d.losses.map((l) => esc(fmtAmount(l.amount, l.asset, d.chain))).join(", ");
  box.innerHTML = `<h2>Incident ${esc(d.id)}</h2>
    <p>${esc(d.kind)} on ${esc(d.chain)} · ${d.victim_count} victims · loss <b>${usd(d.loss_usd)}</b> (${losses})</p>
    <p class="muted">${esc(d.window.start)} → ${esc(d.window.end)}</p>
    <h3>Drain-wave timeline</h3>${timelineSvg(d.timeline)}
    <h3>Attackers</h3><ul>${d.attackers.map((a) => `<li><code>${esc(a.address)}</code> <span class="badge">${esc(a.role)}</span></li>`).join("")}</ul>
    <button type="button" id="btn-trace-incident">Trace the stolen funds</button>
    <a href="#" id="lnk-report">Write report</a>`;
  for (const a of d.attackers) upsertNode(d.chain, a.address, {category: "attacker", label: "attacker (" + a.role + ")"}).addClass("source");
  relayout();
  const recipients = d.attackers.filter((a) => a.role === "recipient").map((a) => a.address);
  $("#btn-trace-incident").onclick = () => traceFrom(recipients.length ? recipients : d.attackers.map((a) => a.address), d.chain, d.window.start).catch((e) => status(e.message, true));
  $("#lnk-report").onclick = async (ev) => {
    ev.preventDefault();
    try { const r = await api("/reports", {method: "POST", body: {subject: d.id}}); window.open(r.html, "_blank"); }
    catch (err) { status(err.message, true); }
  };
}

/* ---------------------------------------------------------------- saved views */
async function saveView() {
  const name = prompt("Case name for this view:");
  if (!name) return;
  const payload = {chain: state.chain, elements: cy.elements().jsons().map((e) => ({group: e.group, data: e.data, position: e.position, classes: e.classes})),
    trace: state.trace ? {sources: state.trace.sources, model: state.trace.model, parameters: state.trace.parameters} : null};
  try { const r = await api("/views", {method: "POST", body: {name, payload}}); status(`saved as case view #${r.view_id}`); }
  catch (err) { status(err.message, true); }
}

async function showViews() {
  const r = await api("/views?limit=50");
  $("#dialog-body").innerHTML = `<h3>Saved cases</h3><table>${r.items.map((v) => `<tr class="clickable view-row" data-id="${v.view_id}"><td>#${v.view_id}</td><td>${esc(v.name)}</td><td>${esc(v.created_by)}</td><td>${esc(v.created_at)}</td></tr>`).join("") || "<tr><td>none yet</td></tr>"}</table>`;
  for (const tr of document.querySelectorAll("tr.view-row")) tr.onclick = async () => {
    const v = await api("/views/" + tr.dataset.id);
    cy.elements().remove();
    cy.add(v.payload.elements.map((e) => ({group: e.group, data: e.data, position: e.position, classes: e.classes})));
    cy.fit(); $("#dialog").close(); status(`opened case view "${v.name}"`);
  };
  $("#dialog").showModal();
}

/* ---------------------------------------------------------------- search and wiring */
async function search(q) {
  q = q.trim(); if (!q) return;
  try {
    const r = await api("/search?q=" + encodeURIComponent(q));
    if (r.kind === "incident") { history.replaceState(null, "", "#incident=" + r.id); return openIncident(r.id); }
    if (r.kind === "case") {
      const c = await api("/cases/" + encodeURIComponent(r.id));
      const attackers = c.sources.filter((s) => s.role === "attacker").map((s) => s.address);
      return traceFrom(attackers.length ? attackers : c.sources.map((s) => s.address), c.chain, c.since);
    }
    const chain = (r.chains || []).includes($("#chain").value) ? $("#chain").value : (r.chains || [state.chain])[0];
    state.chain = chain; await loadAssets(chain);
    if (r.kind === "tx") {
      const t = await api(`/chains/${chain}/tx/${encodeURIComponent(r.tx_hash)}`);
      for (const m of t.transfers) { upsertNode(chain, m.from); upsertNode(chain, m.to); upsertEdge(chain, m.from, m.to, m.asset, m.amount); }
      relayout(); status(`transaction ${short(r.tx_hash)}: ${t.transfers.length} transfers`); return;
    }
    history.replaceState(null, "", "#address=" + chain + ":" + r.address);
    const n = upsertNode(chain, r.address);
    cy.$(":selected").unselect(); n.select();
    await showDetails(n);
    await expand(n);
  } catch (err) { status(err.message, true); }
}

cy.on("tap", "node", (ev) => showDetails(ev.target));
cy.on("dbltap", "node", (ev) => expand(ev.target).catch((e) => status(e.message, true)));
cy.on("tap", "edge", (ev) => {
  const d = ev.target.data();
  $("#details").innerHTML = `<h2>Transfer</h2><p><code>${esc(d.source)}</code> → <code>${esc(d.target)}</code></p>
    <p><b>${esc(d.label)}</b></p><p>${(d.txs || []).map((h) => `<code>${esc(h)}</code>`).join("<br>")}</p>`;
});
$("#search-form").onsubmit = (ev) => { ev.preventDefault(); search($("#search").value); };
$("#btn-expand").onclick = () => state.selected && expand(state.selected).catch((e) => status(e.message, true));
$("#btn-trace").onclick = () => state.selected && traceFrom([state.selected.data("address")], state.selected.data("chain")).catch((e) => status(e.message, true));
$("#btn-fit").onclick = () => cy.fit();
$("#btn-save").onclick = saveView;
$("#btn-incidents").onclick = () => showIncidents().catch((e) => status(e.message, true));
$("#btn-views").onclick = () => showViews().catch((e) => status(e.message, true));
$("#token").value = localStorage.getItem("chainsleuth-token") || "";
$("#token").onchange = () => localStorage.setItem("chainsleuth-token", $("#token").value.trim());
$("#chain").onchange = () => { state.chain = $("#chain").value; };
$("#legend").innerHTML = [["source/attacker", "source"], ["exchange", "exchange"], ["mixer", "mixer"], ["bridge/DEX", "bridge"],
  ["sanctioned", "sanctioned"], ["unresolved", "resting"], ["unlabelled", "none"]].map(([t, k]) => `<span><i style="background:${COLORS[k]}"></i>${t}</span>`).join("");

function followHash() {
  const h = new URLSearchParams(location.hash.slice(1));
  if (h.get("incident")) openIncident(h.get("incident")).catch((e) => status(e.message, true));
  else if (h.get("address") && !(state.selected && h.get("address") === state.selected.data("id"))) {
    const [c, a] = h.get("address").split(":");
    if (!cy.getElementById(c + ":" + a).length) { $("#chain").value = c; search(a); }
  }
}
window.addEventListener("hashchange", followHash);

(async function init() {
  try {
    const info = await api("/info");
    const chains = info.chains.map((c) => c.chain);
    $("#chain").innerHTML = chains.map((c) => `<option>${esc(c)}</option>`).join("");
    if (chains.length) { state.chain = chains.includes("ethereum") ? "ethereum" : chains[0]; $("#chain").value = state.chain; }
    status(chains.length ? `${chains.length} chain(s) loaded` : "database is empty");
  } catch (err) { status(err.message, true); }
  followHash();
  document.body.dataset.ready = "1";
})();
