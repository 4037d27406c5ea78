// Clearance: the page. Plain JavaScript, no framework, no build step, no other host.
"use strict";

const TOKEN_KEY = "clearance.token";
const $ = (id) => document.getElementById(id);

const state = { me: null, request: null, map: null };

// ---- helpers ------------------------------------------------------------------------

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function showMessage(text, kind = "error") {
  const box = $("message");
  box.textContent = text;
  box.className = kind;
  box.hidden = false;
}

function clearMessage() {
  const box = $("message");
  box.hidden = true;
  box.textContent = "";
}

class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

// Every call goes to this page's own origin; errors carry the problem+json detail.
async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  const init = { method, headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = typeof body === "string" ? body : JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, "the server could not be reached");
  }
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json().catch(() => null) : null;
  if (!response.ok) {
    const detail = (data && (data.detail || data.title)) || `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, typeof detail === "string" ? detail : JSON.stringify(detail));
  }
  return data;
}

// Run an action; show its error (the problem's detail), never a stack trace.
async function guarded(action) {
  try {
    await action();
  } catch (e) {
    showMessage(e instanceof ApiError ? e.message : "Something went wrong in the page.");
    if (!(e instanceof ApiError)) console.error(e);
  }
}

function age(seconds) {
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m`;
  return `${s}s`;
}

function statusLabel(status) {
  return String(status).replaceAll("_", " ");
}

// ---- sign-in ------------------------------------------------------------------------

async function signIn(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
  try {
    state.me = await api("GET", "/v1/me");
  } catch (e) {
    sessionStorage.removeItem(TOKEN_KEY);
    state.me = null;
    throw e;
  }
  renderSession();
  await refreshLists();
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  state.me = null;
  state.request = null;
  clearMessage();
  renderSession();
}

function renderSession() {
  const me = state.me;
  $("signin").hidden = !!me;
  $("whoami").hidden = !me;
  $("submit").hidden = !(me && me.operator);
  $("queue").hidden = !(me && me.authority);
  $("requests").hidden = !me;
  $("request").hidden = !(me && state.request);
  if (!me) return;
  const roles = [];
  if (me.operator) roles.push(`operator ${me.operator}`);
  if (me.authority) roles.push(`member of ${me.authority}`);
  $("who").textContent = `Signed in as ${me.name} (${roles.join(", ") || "no role"})`;
  if (me.authority) $("queue-h").textContent = `Queue of ${me.authority}`;
}

// ---- lists --------------------------------------------------------------------------

async function refreshLists() {
  const tasks = [refreshRequests()];
  if (state.me && state.me.authority) tasks.push(refreshQueue());
  await Promise.all(tasks);
}

function openButton(id) {
  return el("button", { type: "button", "aria-label": `Open request ${id}`, onclick: () => guarded(() => openRequest(id)) }, "Open");
}

async function refreshQueue() {
  const authority = state.me.authority;
  const data = await api("GET", `/v1/authorities/${encodeURIComponent(authority)}/queue`);
  const list = $("queue-items");
  list.replaceChildren();
  for (const item of data.items) {  // the API lists the oldest first
    list.append(el("li", { dataset: { id: item.id } },
      openButton(item.id), " ",
      el("span", {}, `${item.operator} · ${item.id}`), " ",
      el("span", { class: "age" }, `waiting ${age(item.age_seconds)}`)));
  }
  $("queue-empty").hidden = data.items.length > 0;
}

async function refreshRequests() {
  const data = await api("GET", "/v1/requests?limit=50");
  const list = $("requests-items");
  list.replaceChildren();
  for (const item of data.items) {
    list.append(el("li", { dataset: { id: item.id } },
      openButton(item.id), " ",
      el("span", {}, `${item.id} · ${item.operator} · `),
      el("span", { class: "state" }, item.state)));
  }
}

// ---- one request --------------------------------------------------------------------

async function openRequest(id) {
  state.request = await api("GET", `/v1/requests/${encodeURIComponent(id)}`);
  clearMessage();
  renderRequest();
  $("request-h").focus();
  await renderMap(state.request);
}

function renderRequest() {
  const r = state.request;
  renderSession();
  if (!r) return;
  $("request-id").textContent = r.id;
  $("request-state").textContent = r.state;
  $("request-outcome").textContent = r.outcome;
  $("request-operator").textContent = r.operator;
  $("request-version").textContent = r.version;
  const doc = r.document || {};
  $("request-purpose").textContent =
    [doc.purpose, doc.payload && `payload ${doc.payload}`, doc.aircraft, doc.launch_site && `from ${doc.launch_site}`]
      .filter(Boolean).join(" · ");

  // The chain, stage by stage.
  const stages = new Map();
  for (const a of r.approvals) {
    if (!stages.has(a.stage)) stages.set(a.stage, []);
    stages.get(a.stage).push(a);
  }
  const awaiting = new Set(r.awaiting);
  const chain = $("stages");
  chain.replaceChildren();
  for (const stage of [...stages.keys()].sort((x, y) => x - y)) {
    const cards = el("ul", { class: "authorities" });
    for (const a of stages.get(stage)) {
      const waits = awaiting.has(a.authority);
      const card = el("li", { class: `authority${waits ? " awaiting" : ""}`, dataset: { authority: a.authority, status: a.status } },
        el("strong", {}, a.authority), " ",
        el("span", { class: `status status-${a.status}` }, statusLabel(a.status)),
        waits ? el("span", { class: "awaiting-label" }, " — awaiting decision") : null);
      if (a.by || a.at) card.append(el("div", { class: "muted" }, `by ${a.by || "?"} at ${a.at || "?"}`));
      if (a.comment) card.append(el("div", {}, `“${a.comment}”`));
      if (a.grant) card.append(el("div", { class: "muted" }, `grant ${a.grant}`));
      if (a.reasons && a.reasons.length) {
        card.append(el("ul", { class: "reasons" }, ...a.reasons.map((reason) => el("li", {}, reason))));
      }
      cards.append(card);
    }
    chain.append(el("li", { class: "stage" }, el("div", { class: "label" }, `Stage ${stage}`), cards));
  }

  // Decision buttons only for the signed-in member's own authority, when it is awaited.
  const mine = state.me && state.me.authority;
  const form = $("decide");
  form.hidden = !(mine && awaiting.has(mine));
  if (!form.hidden) $("decide-h").textContent = `Your decision for ${mine}`;

  const violations = $("violations");
  violations.replaceChildren(...r.violations.map((v) => el("li", {}, el("code", {}, v.code), ` ${v.message}`)));
  $("violations-none").hidden = r.violations.length > 0;

  const events = $("events");
  events.replaceChildren(...(r.events || []).map((e) => {
    const detail = e.detail && Object.keys(e.detail).length
      ? Object.entries(e.detail).map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`).join("; ")
      : "";
    return el("li", {}, el("time", { datetime: e.at }, e.at), ` ${e.kind} by ${e.by}`,
      detail ? el("span", { class: "muted" }, ` — ${detail}`) : null);
  }));
}

// ---- the map: territories and sites as the base (no tiles, no other host), volumes on top

async function renderMap(r) {
  if (!state.map) {
    const base = await api("GET", "/v1/scenario/map");  // static: fetched once per page
    const map = L.map("map", { attributionControl: false }).setView([17, 8], 4);  // the region
    L.geoJSON(base.territories, {
      style: { className: "territory", color: "#7a8794", weight: 1, fillColor: "#fdfcf7", fillOpacity: 0.9 },
      onEachFeature: (feature, layer) => layer.bindTooltip(feature.properties.party,
        { permanent: true, direction: "center", className: "party-label" }),
    }).addTo(map);
    for (const site of base.sites) {
      L.circleMarker([site.lat, site.lng], { className: "site", radius: 5, color: "#1b1f23", fillOpacity: 1 })
        .bindTooltip(site.name).addTo(map);
    }
    state.map = { map, volumes: L.featureGroup().addTo(map) };
  }
  const { map, volumes } = state.map;
  map.invalidateSize();  // the section may have been hidden when the map was made
  volumes.clearLayers();
  const style = { className: "volume", color: "#0b5cad", weight: 2, fillOpacity: 0.2 };
  for (const v of ((r.document || {}).volumes || [])) {
    const outline = v.volume || {};
    if (outline.outline_circle) {
      const c = outline.outline_circle;
      volumes.addLayer(L.circle([c.center.lat, c.center.lng], { ...style, radius: c.radius.value }));
    } else if (outline.outline_polygon) {
      volumes.addLayer(L.polygon(outline.outline_polygon.vertices.map((p) => [p.lat, p.lng]), style));
    }
  }
  // Show the volumes with enough around them to see whose territory they are over.
  if (volumes.getLayers().length) map.fitBounds(volumes.getBounds().pad(3), { maxZoom: 8 });
  else map.setView([17, 8], 4);
}

async function decide(decision) {
  const r = state.request;
  const authority = state.me.authority;
  await api("POST", `/v1/requests/${encodeURIComponent(r.id)}/decisions`,
    { authority, decision, comment: $("comment").value });
  $("comment").value = "";
  await openRequest(r.id);
  showMessage(`${decision === "approve" ? "Approved" : "Denied"} for ${authority}.`, "info");
  await refreshLists();
}

// ---- wiring -------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("request-h").tabIndex = -1;
  $("signin").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("token").value.trim();
    $("token").value = "";
    guarded(async () => { clearMessage(); await signIn(token); });
  });
  $("signout").addEventListener("click", signOut);
  $("submit-form").addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(async () => {
      let doc;
      try {
        doc = JSON.parse($("document").value);
      } catch (e) {
        throw new ApiError(0, `The document is not valid JSON: ${e.message}`);
      }
      const created = await api("POST", "/v1/requests", doc);
      state.request = created;
      await openRequest(created.id);
      showMessage(`Submitted request ${created.id}: ${created.state}.`, "info");
      await refreshLists();
    });
  });
  $("decide").addEventListener("submit", (event) => {
    event.preventDefault();
    const decision = event.submitter ? event.submitter.value : "approve";
    guarded(() => decide(decision));
  });
  $("queue-refresh").addEventListener("click", () => guarded(refreshQueue));
  $("requests-refresh").addEventListener("click", () => guarded(refreshRequests));
  $("request-refresh").addEventListener("click", () => guarded(() => openRequest(state.request.id)));
  $("open-form").addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(() => openRequest($("open-id").value.trim()));
  });
  renderSession();
  if (sessionStorage.getItem(TOKEN_KEY)) guarded(() => signIn(sessionStorage.getItem(TOKEN_KEY)));
});
