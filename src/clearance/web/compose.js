// Composing a request: a form and a map to draw on, or a pasted document (JSON or YAML).
// The document text is what is evaluated and submitted; the form and the drawing write
// it, and a JSON document typed or pasted in fills the form back. While it is edited,
// the service evaluates it (POST /v1/evaluations, nothing stored) and the chain, its
// reasons and any violations are shown before anything is submitted, with what would
// clear it (?suggest=true): one click composes from a suggestion's document.
import { $, el, api, ApiError, documentBody, words, parseTime, timeField, TIME_RULE } from "./util.js";
import { makeMap, scenarioBase, volumeLayer, fitAround, conflictLayers, siteRangeLayers, VOLUME_STYLE } from "./maps.js";
import { renderChain, renderViolations } from "./chain.js";

const EVALUATE_AFTER_MS = 350;
const state = { map: null, drawn: null, site: null, others: null, amend: null, timer: null, seq: 0, me: null, filling: false };
const TIME_FIELDS = ["c-start", "c-end"];
const DEFAULT_RADIUS_M = 20_000;
let hooks = { submitted: async () => {}, openRequest: async () => {} };

export function composeHooks(newHooks) {
  hooks = { ...hooks, ...newHooks };
}

function option(value, label) {
  return el("option", { value }, label || value);
}

export async function initCompose(me) {
  state.me = me;
  const base = await scenarioBase();
  $("compose-operator").textContent = me.operator;
  const mine = base.aircraft.filter((a) => a.operator === me.operator);
  $("c-aircraft").replaceChildren(...mine.map((a) => option(a.id, `${a.id} (${a.type}${a.can_carry_weapons ? ", can carry weapons" : ""})`)));
  $("c-payload").replaceChildren(...base.payloads.map((p) => option(p)));
  $("c-purpose").replaceChildren(...base.purposes.map((p) => option(p.id, `${p.id}: ${p.description}`)));
  $("c-site").replaceChildren(...base.sites.map((s) => option(s.id, s.name)));
  // The default is a flight that clears or waits for review, never one refused: unarmed
  // ISR (where the scenario has it) over the launch site, tomorrow (service time) 06:00
  // to 14:00 UTC.
  const pick = (id, wanted) => { if ([...$(id).options].some((o) => o.value === wanted)) $(id).value = wanted; };
  pick("c-payload", "unarmed");
  pick("c-purpose", "isr");
  const site = base.sites[0];
  $("c-justification").value = site ? `Example: reconnaissance near ${site.name}; say why this flight is needed.` : "";
  const day = new Date(Date.parse(me.now) + 86400e3).toISOString().slice(0, 10);
  $("c-start").value = `${day} 06:00`;
  $("c-end").value = `${day} 14:00`;
  for (const id of TIME_FIELDS) markTime(id, true);
  if (!state.map) {
    state.map = await makeMap("compose-map");
    state.site = L.layerGroup().addTo(state.map);
    state.others = L.featureGroup().addTo(state.map);
    state.drawn = L.featureGroup().addTo(state.map);
    state.map.pm.addControls({
      position: "topleft",
      drawMarker: false, drawCircleMarker: false, drawPolyline: false, drawText: false,
      cutPolygon: false, rotateMode: false,
      drawCircle: true, drawPolygon: true, drawRectangle: true,
      editMode: true, dragMode: true, removalMode: true,
    });
    nameTools(state.map.getContainer());
    state.map.pm.setGlobalOptions({ layerGroup: state.drawn, pathOptions: VOLUME_STYLE });
    state.map.on("pm:create", (e) => { watch(e.layer); formChanged(); });
    state.map.on("pm:remove", () => formChanged());
  }
  state.drawn.clearLayers();
  if (site) addCircle(site.lat, site.lng, DEFAULT_RADIUS_M / 1000);
  else writeDocument();
}

// The chosen launch site and the chosen aircraft's reach from it.
async function drawSiteRange() {
  const layers = await siteRangeLayers($("c-site").value, $("c-aircraft").value);
  state.site.clearLayers();
  for (const layer of layers) state.site.addLayer(layer);
}

// A time field holds a 24-hour UTC time or says what is wrong with it, beside it.
function markTime(id, ok) {
  const input = $(id);
  input.setCustomValidity(ok ? "" : TIME_RULE);
  input.setAttribute("aria-invalid", String(!ok));
  $(`${id}-problem`).textContent = ok ? "" : TIME_RULE;
}

function timesValid() {
  let valid = true;
  for (const id of TIME_FIELDS) {
    const ok = parseTime($(id).value) !== null && $(id).value.trim() !== "";
    markTime(id, ok);
    valid = valid && ok;
  }
  return valid;
}

// Geoman's tool buttons carry only icons: give each a name for keyboards and readers.
const TOOLS = {
  rectangle: "Draw a rectangle", polygon: "Draw a polygon", circle: "Draw a circle",
  edit: "Edit volumes", drag: "Move volumes", delete: "Remove volumes",
};
function nameTools(container) {
  for (const [icon, name] of Object.entries(TOOLS)) {
    const button = container.querySelector(`.leaflet-pm-icon-${icon}`);
    if (button && button.parentElement) {
      button.parentElement.setAttribute("aria-label", name);
      button.parentElement.setAttribute("title", name);
    }
  }
}

function watch(layer) {
  layer.on("pm:edit pm:dragend", () => formChanged());
}

export function showComposeMap() {
  if (state.map) fitAround(state.map, state.drawn);
}

// -- form -> document ----------------------------------------------------------------
function volumesFromDrawing() {
  const altitude = (id) => ({ value: Number($(id).value), reference: "W84", units: "M" });
  const times = {
    time_start: { value: parseTime($("c-start").value), format: "RFC3339" },
    time_end: { value: parseTime($("c-end").value), format: "RFC3339" },
  };
  const volumes = [];
  for (const layer of state.drawn.getLayers()) {
    let outline;
    if (layer instanceof L.Circle) {
      const c = layer.getLatLng();
      outline = { outline_circle: { center: { lat: round(c.lat), lng: round(c.lng) }, radius: { value: Math.round(layer.getRadius()), units: "M" } } };
    } else if (layer instanceof L.Polygon) {
      const ring = layer.getLatLngs()[0] || [];
      outline = { outline_polygon: { vertices: ring.map((p) => ({ lat: round(p.lat), lng: round(p.lng) })) } };
    } else {
      continue;
    }
    volumes.push({ volume: { ...outline, altitude_lower: altitude("c-lower"), altitude_upper: altitude("c-upper") }, ...times });
  }
  return volumes;
}

function round(x) {
  return Math.round(x * 1e6) / 1e6;
}

function formDocument() {
  return {
    operator: state.me.operator,
    aircraft: $("c-aircraft").value,
    payload: $("c-payload").value,
    purpose: $("c-purpose").value,
    launch_site: $("c-site").value,
    justification: $("c-justification").value,
    volumes: volumesFromDrawing(),
  };
}

function writeDocument() {
  if (state.site) drawSiteRange();
  if (!timesValid()) return;  // the document keeps its last valid window meanwhile
  $("document").value = JSON.stringify(formDocument(), null, 2);
  $("document-note").textContent = "";
  scheduleEvaluation();
}

function formChanged() {
  if (!state.filling) writeDocument();
}

// -- document -> form (JSON only) ------------------------------------------------------
function fillForm(doc) {
  state.filling = true;
  try {
    for (const [id, key] of [["c-aircraft", "aircraft"], ["c-payload", "payload"], ["c-purpose", "purpose"], ["c-site", "launch_site"]]) {
      const select = $(id);
      const value = doc[key];
      if (typeof value === "string" && ![...select.options].some((o) => o.value === value)) select.append(option(value));
      if (typeof value === "string") select.value = value;
    }
    if (typeof doc.justification === "string") $("c-justification").value = doc.justification;
    state.drawn.clearLayers();
    const volumes = Array.isArray(doc.volumes) ? doc.volumes : [];
    for (const v of volumes) {
      const layer = volumeLayer(v);
      if (layer) { state.drawn.addLayer(layer); watch(layer); }
    }
    const first = volumes[0] || {};
    const inner = first.volume || {};
    if (inner.altitude_lower) $("c-lower").value = inner.altitude_lower.value;
    if (inner.altitude_upper) $("c-upper").value = inner.altitude_upper.value;
    if (first.time_start) $("c-start").value = timeField(first.time_start.value);
    if (first.time_end) $("c-end").value = timeField(first.time_end.value);
    for (const id of TIME_FIELDS) markTime(id, true);
    drawSiteRange();
    fitAround(state.map, state.drawn);
  } finally {
    state.filling = false;
  }
}

function documentTyped() {
  const { parsed } = documentBody($("document").value);
  if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) {
    fillForm(parsed);
    $("document-note").textContent = "";
  } else {
    // The service reads YAML; the form and the map follow once it has (see evaluateNow).
    $("document-note").textContent = "Not JSON: read as YAML by the service.";
  }
  scheduleEvaluation();
}

function addCircle(lat, lng, radiusKm) {
  const layer = L.circle([lat, lng], { ...VOLUME_STYLE, radius: radiusKm * 1000 });
  state.drawn.addLayer(layer);
  watch(layer);
  fitAround(state.map, state.drawn);
  writeDocument();
}

// -- evaluation while composing --------------------------------------------------------
function scheduleEvaluation() {
  clearTimeout(state.timer);
  $("evaluation").setAttribute("aria-busy", "true");
  state.timer = setTimeout(evaluateNow, EVALUATE_AFTER_MS);
}

async function evaluateNow() {
  const seq = ++state.seq;
  const text = $("document").value;
  const panel = $("evaluation");
  let result = null, problem = null;
  if (!text.trim()) problem = "Write or paste a request document, or fill the form.";
  else {
    try {
      result = await api("POST", "/v1/evaluations?suggest=true", documentBody(text).body);
    } catch (e) {
      problem = e instanceof ApiError ? e.message : "the evaluation failed";
    }
  }
  if (seq !== state.seq) return;  // a newer edit is being evaluated
  if (result && result.document && !documentBody(text).parsed) fillForm(result.document);  // YAML
  panel.removeAttribute("aria-busy");
  state.others.clearLayers();
  for (const layer of conflictLayers(result && result.conflicts)) state.others.addLayer(layer);
  $("evaluation-problem").hidden = !problem;
  $("evaluation-problem").textContent = problem || "";
  $("evaluation-result").hidden = !result;
  if (!result) {
    $("evaluation-outcome").textContent = "";
    return;
  }
  $("evaluation-outcome").textContent = words(result.outcome);
  $("evaluation-outcome").dataset.outcome = result.outcome;
  renderChain($("evaluation-stages"), result.approvals);
  renderViolations($("evaluation-violations"), result.violations, hooks.openRequest);
  $("evaluation-violations-none").hidden = result.violations.length > 0;
  const overrides = $("evaluation-overrides");
  overrides.replaceChildren(...result.overrides.map((o) => el("li", {}, `${o.request}: ${o.reasons.join("; ")}`)));
  $("evaluation-overrides-box").hidden = result.overrides.length === 0;
  const suggestions = (result.alternatives && result.alternatives.suggestions) || [];
  $("evaluation-suggestions").replaceChildren(...suggestions.map(suggestionItem));
  $("evaluation-suggestions-box").hidden = suggestions.length === 0;
}

function suggestionItem(s) {
  const reviews = s.reviews ? ` (${s.reviews} to review)` : "";
  return el("li", { class: "suggestion", dataset: { outcome: s.outcome } },
    el("strong", { class: "state", dataset: { state: s.outcome } }, words(s.outcome)), reviews, ": ", s.description, " ",
    el("button", { type: "button", class: "secondary", onclick: () => composeFrom(s.document) }, "Compose from this"));
}

function composeFrom(doc) {
  $("document").value = JSON.stringify(doc, null, 2);
  $("document-note").textContent = "";
  fillForm(doc);
  scheduleEvaluation();
}

// -- submit, amend -------------------------------------------------------------------
async function submit() {
  const { body } = documentBody($("document").value);
  let record, note;
  if (state.amend) {
    record = await api("PUT", `/v1/requests/${encodeURIComponent(state.amend.id)}`, body, { "If-Match": `"${state.amend.version}"` });
    const kept = record.kept.length ? `kept ${record.kept.join(", ")}` : "no decision kept";
    const reset = record.reset.length ? `; asked again: ${record.reset.join(", ")}` : "";
    note = `Amended request ${record.id} to version ${record.version}: ${record.state} (${kept}${reset}).`;
    stopAmending();
  } else {
    record = await api("POST", "/v1/requests", body);
    note = `Submitted request ${record.id}: ${record.state}.`;
  }
  await hooks.submitted(record, note);
}

export function startAmending(record) {
  state.amend = { id: record.id, version: record.version };
  $("compose-h").textContent = `Amend request ${record.id} (version ${record.version})`;
  $("compose-submit").textContent = "Save amendment";
  $("compose-cancel").hidden = false;
  $("document").value = JSON.stringify(record.document, null, 2);
  fillForm(record.document);
  scheduleEvaluation();
}

export function stopAmending() {
  state.amend = null;
  $("compose-h").textContent = "Compose a request";
  $("compose-submit").textContent = "Submit request";
  $("compose-cancel").hidden = true;
}

export function wireCompose(guarded) {
  for (const id of ["c-aircraft", "c-payload", "c-purpose", "c-site", "c-justification", "c-lower", "c-upper", "c-start", "c-end"]) {
    $(id).addEventListener("input", formChanged);
    $(id).addEventListener("change", formChanged);
  }
  $("document").addEventListener("input", documentTyped);
  $("compose-form").addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(submit);
  });
  $("compose-cancel").addEventListener("click", () => { stopAmending(); writeDocument(); });
  $("circle-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const lat = Number($("circle-lat").value), lng = Number($("circle-lng").value), km = Number($("circle-km").value);
    addCircle(lat, lng, km);
  });
  $("clear-volumes").addEventListener("click", () => { state.drawn.clearLayers(); writeDocument(); });
}
