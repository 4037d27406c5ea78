// One request: its chain by stage (the holders highlighted), its volumes and flown path
// on the map, decisions (a member's own authority only), the operator's amend, withdraw
// and telemetry, conflicts, the conformance result, the audit entries checked in the
// browser, and the timeline.
import { $, el, api, ApiError, words, duration, showMessage, clearMessage, readTime } from "./util.js";
import { makeMap, volumeLayer, fitAround, conflictLayers, siteRangeLayers } from "./maps.js";
import { renderChain, renderViolations, linkIds } from "./chain.js";
import { verifyRequestEntries, bundleLink, unsignedSummary } from "./audit.js";
import { renderRequestForecast } from "./forecast.js";
import { recheckMemberKey, signDecision } from "./memberkey.js";

const state = { map: null, volumes: null, path: null, others: null, site: null, record: null, me: null, clock: null };
// ``open(id)`` goes to another request's address (#/requests/ID); ``shown`` switches the view
let hooks = { changed: async () => {}, amend: () => {}, shown: () => {}, open: () => {}, guarded: (f) => f() };

export function requestHooks(newHooks) {
  hooks = { ...hooks, ...newHooks };
}

// ``clock`` gives the service's present time (ms since the epoch), estimated from /v1/me.
export function setViewer(me, clock) {
  state.me = me;
  state.clock = clock;
  state.record = null;
}

export async function openRequest(id) {
  const record = await api("GET", `/v1/requests/${encodeURIComponent(id)}`);
  state.record = record;
  clearMessage();
  render(record);
  $("request").hidden = false;
  hooks.shown();  // the view switches now, not after the map and the audit check
  await renderMap(record);
  await renderRequestForecast(record, isCurrent);
  await renderAlternatives(record);
  await renderAudit(record);
}

const isCurrent = (id) => !!state.record && state.record.id === id;

const NO_SUGGESTION = "No change found that clears it or shortens its chain.";

// What would clear it (GET .../alternatives, nothing stored): for a request not cleared;
// its operator amends from a suggestion in one click.
async function renderAlternatives(r) {
  const box = $("request-alternatives");
  box.hidden = ["cleared", "withdrawn", "expired"].includes(r.state);
  if (box.hidden) return;
  $("request-suggestions-none").textContent = NO_SUGGESTION;
  let found = null;
  try {
    found = await api("GET", `/v1/requests/${encodeURIComponent(r.id)}/alternatives`);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    $("request-suggestions-none").textContent = e.message;
  }
  if (!state.record || state.record.id !== r.id) return;
  const suggestions = (found && found.suggestions) || [];
  const owns = state.me && state.me.operator === r.operator;
  $("request-suggestions").replaceChildren(...suggestions.map((s) => {
    const reviews = s.reviews ? ` (${s.reviews} to review)` : "";
    return el("li", { class: "suggestion", dataset: { outcome: s.outcome } },
      el("strong", { class: "state", dataset: { state: s.outcome } }, words(s.outcome)), reviews, ": ", s.description, " ",
      owns ? el("button", { type: "button", class: "secondary", onclick: () => hooks.amend({ ...state.record, document: s.document }) }, "Take this change") : null);
  }));
  $("request-suggestions-none").hidden = found !== null && suggestions.length > 0;
}

// Follow the open request: re-read it and redraw only when it changed (no focus moves,
// the map keeps the reader's view).
export async function followRequest() {
  const shown = state.record;
  if (!shown || $("request").hidden) return;
  const r = await api("GET", `/v1/requests/${encodeURIComponent(shown.id)}`);
  if (!state.record || state.record.id !== r.id) return;
  const changed = r.version !== shown.version || r.state !== shown.state
    || (r.events || []).length !== (shown.events || []).length;
  if (!changed) return;
  state.record = r;
  render(r);
  await renderMap(r, { keepView: true });
  await renderRequestForecast(r, isCurrent);
  await renderAlternatives(r);
  await renderAudit(r);
}

function render(r) {
  $("request-title").textContent = r.title;
  document.title = `${r.title} — Clearance`;
  $("request-id").textContent = r.id;
  $("request-state").textContent = words(r.state);
  $("request-state").dataset.state = r.state;
  // the live state above; what the rules said at the last evaluation, dated, apart
  $("request-outcome").textContent = words(r.evaluation.outcome);
  $("request-outcome").dataset.outcome = r.evaluation.outcome;
  $("request-evaluated-at").textContent = r.evaluation.evaluated_at;
  $("request-operator").textContent = r.operator;
  $("request-version").textContent = r.version;
  const doc = r.document || {};
  $("request-purpose").textContent =
    [doc.purpose, doc.payload && `payload ${doc.payload}`, doc.aircraft, doc.launch_site && `from ${doc.launch_site}`,
      `${r.time_start} to ${r.time_end}`].filter(Boolean).join(" · ");
  $("request-justification").textContent = doc.justification || "";

  const now = state.clock ? new Date(state.clock()).toISOString() : null;
  renderChain($("stages"), r.approvals, r.awaiting, {
    waitingSince: r.waiting_since, now,
    deadlines: Object.fromEntries((r.review_deadlines || []).map((d) => [d.authority, d.at])),
    member: state.me && state.me.authority,
    revoke: (grant) => hooks.guarded(() => revokeGrant(grant)),
  });

  // A member decides only for their own authority, and only while it holds the request.
  const mine = state.me && state.me.authority;
  const form = $("decide");
  form.hidden = !(mine && r.awaiting.includes(mine));
  if (!form.hidden) $("decide-h").textContent = `Your decision for ${mine}`;
  $("decide-window").textContent = `The request runs from ${r.time_start} to ${r.time_end}; a narrower window must lie within it.`;

  // The operator may amend or withdraw while the request is open; the API enforces it.
  const owns = state.me && state.me.operator === r.operator;
  $("operator-actions").hidden = !owns;
  $("amend").hidden = !owns || ["withdrawn", "expired"].includes(r.state);
  $("withdraw").hidden = !owns || !["pending", "cleared"].includes(r.state);
  $("telemetry-form").hidden = !owns;

  // conflicts are listed once, under Conflicts, with what may be shown of the other side
  const violations = r.evaluation.violations.filter((v) => v.code !== "conflict");
  renderViolations($("violations"), violations, (id) => guardedOpen(id));
  $("violations-none").hidden = violations.length > 0;

  const events = r.events || [];
  renderConflicts(r, events);
  renderConformance(events);
  $("events").replaceChildren(...events.map((e) => {
    const detail = e.kind === "conformance" ? conformanceSummary(e.detail) : eventDetail(e.detail || {});
    return el("li", { dataset: { kind: e.kind } }, el("time", { datetime: e.at }, e.at), ` ${words(e.kind)}`,
      e.by ? ` by ${e.by}` : "", detail ? el("span", { class: "muted" }, ` — `, ...linkIds(detail, guardedOpen)) : null);
  }));
}

// What an event says, for people: signatures and digests stay in the audit log.
const UNSHOWN = new Set(["signature", "document_digest", "inputs"]);
function eventDetail(detail) {
  return Object.entries(detail)
    .filter(([k, v]) => !UNSHOWN.has(k) && v !== null && v !== "" && !(Array.isArray(v) && !v.length))
    .map(([k, v]) => {
      if (k === "conditions" && v && typeof v === "object") return `conditions: ${v.text}`;
      return `${words(k)}: ${typeof v === "object" ? JSON.stringify(v) : v}`;
    })
    .join("; ");
}

function guardedOpen(id) {
  return hooks.open(id);
}

// Conflicts: one line per other request this one conflicts with (whichever volumes meet),
// and later requests that overrode it. Another operator's operation is shown only by its
// extent and time window; it cannot be opened.
function renderConflicts(r, events) {
  const items = [];
  const byRequest = new Map();
  for (const c of r.conflicts || []) {
    if (!byRequest.has(c.request)) byRequest.set(c.request, []);
    byRequest.get(c.request).push(c);
  }
  for (const [other, found] of byRequest) {
    const pairs = found.map((c) => `your volume ${c.volume} against its volume ${c.other_volume} (${c.time_start} to ${c.time_end}, ${c.extent.altitude_lower_m}–${c.extent.altitude_upper_m} m)`);
    const visible = found.some((c) => c.visible);
    items.push(el("li", { dataset: { request: other } }, "Same airspace and time as ",
      visible ? linkIds(other, guardedOpen) : `another operator's operation (${other})`,
      `: ${pairs.join("; ")}. Drawn dashed red on the map.`));
  }
  for (const e of events.filter((x) => x.kind === "flagged")) {
    items.push(el("li", {}, "Overridden by higher-priority request ", ...linkIds(e.detail.by_request, guardedOpen),
      `: ${(e.detail.reasons || []).join("; ")}`));
  }
  $("conflicts").replaceChildren(...items);
  $("conflicts-none").hidden = items.length > 0;
}

function conformanceSummary(d) {
  return `${d.conforming ? "conforming" : "NOT conforming"}, ${d.conformance_percent}% of ${duration(d.flight_seconds)} inside, ${d.excursions.length} excursion(s)`;
}

function latestConformance(events) {
  const found = events.filter((e) => e.kind === "conformance");
  return found.length ? found[found.length - 1] : null;
}

function renderConformance(events) {
  const latest = latestConformance(events);
  $("conformance-none").hidden = !!latest;
  $("conformance-result").hidden = !latest;
  if (!latest) return;
  const d = latest.detail;
  $("conformance-verdict").textContent = d.conforming ? "Conforming" : "Not conforming";
  $("conformance-verdict").className = d.conforming ? "ok" : "bad";
  $("conformance-summary").textContent =
    `${d.conformance_percent}% of the flight time inside what was cleared; ${d.points} points over ${duration(d.flight_seconds)}; checked ${latest.at}${latest.by ? ` by ${latest.by}` : ""}.`;
  $("conformance-reasons").replaceChildren(...(d.reasons || []).map((x) => el("li", {}, x)));
  $("conformance-excursions").replaceChildren(...d.excursions.map((x) => el("tr", {},
    el("td", {}, words(x.kind)), el("td", {}, x.party || ""), el("td", {}, x.start),
    el("td", {}, `${x.seconds} s`), el("td", {}, `${x.max_outside_m} m`), el("td", {}, x.flagged ? "flagged" : ""))));
  $("conformance-table").hidden = d.excursions.length === 0;
}

async function renderMap(r, { keepView = false } = {}) {
  if (!state.map) {
    state.map = await makeMap("map");
    state.site = L.layerGroup().addTo(state.map);
    state.others = L.featureGroup().addTo(state.map);
    state.volumes = L.featureGroup().addTo(state.map);
    state.path = L.layerGroup().addTo(state.map);
  }
  state.volumes.clearLayers();
  state.path.clearLayers();
  state.others.clearLayers();
  state.site.clearLayers();
  const doc = r.document || {};
  for (const layer of await siteRangeLayers(doc.launch_site, doc.aircraft)) state.site.addLayer(layer);
  for (const layer of conflictLayers(r.conflicts)) state.others.addLayer(layer);
  for (const v of (doc.volumes || [])) {
    const layer = volumeLayer(v);
    if (layer) state.volumes.addLayer(layer);
  }
  const flown = latestConformance(r.events || []);
  if (flown && Array.isArray(flown.detail.path) && flown.detail.path.length > 1) {
    const style = { className: flown.detail.conforming ? "flown" : "flown flown-bad", color: flown.detail.conforming ? "#146c2e" : "#a4161a", weight: 3 };
    const line = L.polyline(flown.detail.path, style).bindTooltip("flown track");
    state.path.addLayer(line);
  }
  if (keepView) return;
  // the volumes, the flown path and the other side of conflicts, with enough around them
  // to see whose territory they are over, and the launch site (its range, hundreds of
  // kilometres, shows when zoomed out)
  const shown = L.featureGroup([...state.volumes.getLayers(), ...state.path.getLayers(), ...state.others.getLayers()]);
  fitAround(state.map, shown);
  const site = state.site.getLayers().find((l) => l instanceof L.CircleMarker && !(l instanceof L.Circle));
  if (site && shown.getLayers().length && !state.map.getBounds().contains(site.getLatLng())) {
    state.map.fitBounds(shown.getBounds().extend(site.getLatLng()).pad(0.15), { maxZoom: 8, animate: false });
  }
}

// The request's audit entries, each checked here against the signed checkpoint.
async function renderAudit(r) {
  const list = $("audit-entries");
  list.replaceChildren(el("li", {}, "Checking…"));
  $("audit-checkpoint").textContent = "";
  $("audit-unsigned").textContent = "";
  let audit, keys;
  try {
    [audit, keys] = await Promise.all([api("GET", `/v1/requests/${encodeURIComponent(r.id)}/audit`), api("GET", "/v1/keys")]);
  } catch (e) {
    list.replaceChildren(el("li", {}, `The audit log could not be read: ${e.message}`));
    return;
  }
  if (!state.record || state.record.id !== r.id) return;  // another request was opened
  const checked = await verifyRequestEntries(audit, keys.log, await witnessPolicy());
  const mark = (ok) => (ok === true ? "✓" : ok === false ? "✗" : "–");
  const cp = checked.checkpoint;
  $("audit-checkpoint").textContent = `${mark(cp.ok)} Checkpoint of ${cp.size} entries: ${cp.detail}`;
  $("audit-checkpoint").dataset.ok = String(cp.ok);
  $("audit-checkpoint").append(" ", bundleLink(r.id, (path) => api("GET", path)));
  list.replaceChildren(...checked.entries.map((e) => el("li", { dataset: { ok: String(e.ok), index: e.index } },
    el("span", { class: e.ok ? "ok" : "bad" }, mark(e.ok)), ` #${e.index} ${e.kind}: ${e.detail}`)));
  if (!checked.entries.length) list.append(el("li", {}, "No entry yet."));
  $("audit-unsigned").textContent = unsignedSummary(checked.unsigned);
}

// The deployment's witness policy (tlog-policy text), or null when it names no witnesses
// (404): the checkpoint must then carry the quorum of cosignatures it names.
async function witnessPolicy() {
  try {
    return await api("GET", "/v1/audit/policy");
  } catch (e) {
    if (e.status === 404) return null;
    throw e;
  }
}

async function decide(decision) {
  const r = state.record;
  const authority = state.me.authority;
  const body = { authority, decision, comment: $("comment").value };
  const text = $("conditions-text").value.trim();
  const start = readTime($("conditions-start"), "Only from (UTC)");
  const end = readTime($("conditions-end"), "Only until (UTC)");
  if (decision === "approve" && (text || start || end)) {
    if (!text) throw new ApiError(0, "conditions need a text saying what the operator must do");
    body.conditions = { text };
    if (start) body.conditions.time_start = start;
    if (end) body.conditions.time_end = end;
  }
  // signed here with the member's key when the authority keeps a root key (memberkey.js)
  const signed = await signDecision(body, r, state.clock ? state.clock() : Date.now());
  // the version shown: a request changed since is refused (409), not decided unseen
  try {
    await api("POST", `/v1/requests/${encodeURIComponent(r.id)}/decisions`, signed, { "If-Match": `"${r.version}"` });
  } catch (e) {
    if (e.status === 403 && signed.signature) {
      await recheckMemberKey();
      throw new ApiError(403, `Refused: ${e.message}. See "Your signing key".`);
    }
    throw e;
  }
  for (const id of ["comment", "conditions-text", "conditions-start", "conditions-end"]) $(id).value = "";
  await openRequest(r.id);
  showMessage(`${decision === "approve" ? "Approved" : "Denied"} for ${authority}.`, "info");
  await hooks.changed();
}

async function revokeGrant(grant) {
  const r = state.record;
  if (!window.confirm(`Revoke grant ${grant}? Every open request it covers returns to your review.`)) return;
  const result = await api("POST", `/v1/grants/${encodeURIComponent(grant)}/revoke`);
  await openRequest(r.id);
  const back = result.returned_to_review;
  showMessage(`Revoked grant ${grant}; ${back.length} request(s) returned to review${back.length ? `: ${back.join(", ")}` : ""}.`, "info");
  await hooks.changed();
}

async function withdraw() {
  const r = state.record;
  if (!window.confirm(`Withdraw request ${r.id}? Its airspace is freed and no authority can decide on it any more.`)) return;
  await api("POST", `/v1/requests/${encodeURIComponent(r.id)}/withdraw`);
  await openRequest(r.id);
  showMessage(`Withdrew request ${r.id}.`, "info");
  await hooks.changed();
}

const TRACK_TYPES = { csv: "text/csv", jsonl: "application/x-ndjson", ndjson: "application/x-ndjson" };

async function sendTelemetry() {
  const file = $("telemetry-file").files[0];
  if (!file) throw new ApiError(0, "choose a track file first (.csv, .jsonl or .ndjson)");
  const ext = file.name.split(".").pop().toLowerCase();
  const type = TRACK_TYPES[ext];
  if (!type) throw new ApiError(0, `${file.name}: a track file ends in .csv, .jsonl or .ndjson`);
  const r = state.record;
  const result = await api("POST", `/v1/requests/${encodeURIComponent(r.id)}/telemetry`, { text: await file.text(), type });
  $("telemetry-file").value = "";
  await openRequest(r.id);
  showMessage(`${file.name}: ${conformanceSummary(result)}.`, result.conforming ? "info" : "error");
}

export function wireRequest(guarded) {
  hooks.guarded = guarded;
  $("decide").addEventListener("submit", (event) => {
    event.preventDefault();
    const decision = event.submitter ? event.submitter.value : "approve";
    guarded(() => decide(decision));
  });
  $("withdraw").addEventListener("click", () => guarded(withdraw));
  $("amend").addEventListener("click", () => hooks.amend(state.record));
  $("telemetry-form").addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(sendTelemetry);
  });
  $("request-refresh").addEventListener("click", () => guarded(() => openRequest(state.record.id)));
}
