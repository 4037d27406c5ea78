// The common picture: every operation the viewer may see (an operator its own, a member
// the requests in its authority's chain: GET /v1/requests gives exactly those, with their
// volumes), on one map, coloured by state, at one instant chosen with a time slider.
import { $, el, api, words, timeField } from "./util.js";
import { makeMap, volumeLayer, text } from "./maps.js";

export const STATES = ["cleared", "pending", "denied", "infeasible", "withdrawn", "expired", "revoked"];
const COLOURS = {
  cleared: "#146c2e", pending: "#b7791f", denied: "#a4161a", infeasible: "#6f42c1",
  withdrawn: "#6a737d", expired: "#6a737d", revoked: "#6a737d",
};
const STEP_S = 900;  // the slider moves in quarter hours
const PICTURE_LIMIT = 1000;  // the newest operations drawn (the list's own maximum)

const state = { map: null, drawn: null, items: [], changes: [], at: null, clock: null };
let hooks = { open: () => {}, moved: () => {} };

export function pictureHooks(newHooks) {
  hooks = { ...hooks, ...newHooks };
}

// ``clock`` gives the service's present time (ms since the epoch).
export function setPictureClock(clock) {
  state.clock = clock;
  state.items = [];
}

// Every volume of every operation, with its window in ms.
function volumesOf(item) {
  return ((item.document || {}).volumes || []).map((v) => ({
    item, volume: v, start: Date.parse(v.time_start && v.time_start.value), end: Date.parse(v.time_end && v.time_end.value),
  })).filter((v) => Number.isFinite(v.start) && Number.isFinite(v.end));
}

// Load the operations and show them at ``at`` (ms; by default the service's present time,
// or the next instant something flies when nothing does then).
export async function showPicture(at = null) {
  if (!state.map) {
    state.map = await makeMap("picture-map");
    state.drawn = L.featureGroup().addTo(state.map);
  }
  state.map.invalidateSize();
  const data = await api("GET", `/v1/requests?limit=${PICTURE_LIMIT}`);
  state.items = data.items;
  const volumes = data.items.flatMap(volumesOf);
  state.changes = [...new Set(volumes.flatMap((v) => [v.start, v.end]))].sort((a, b) => a - b);
  const slider = $("picture-at");
  $("picture-empty").hidden = volumes.length > 0;
  slider.disabled = volumes.length === 0;
  if (!volumes.length) {
    state.drawn.clearLayers();
    $("picture-active").replaceChildren();
    return;
  }
  const lo = floorStep(state.changes[0]), hi = floorStep(state.changes[state.changes.length - 1]) + STEP_S * 1000;
  slider.min = String(lo / 1000);
  slider.max = String(hi / 1000);
  slider.step = String(STEP_S);
  let when = at;
  if (when === null) {
    const now = state.clock ? state.clock() : Date.now();
    const flying = volumes.some((v) => v.start <= now && now < v.end);
    when = flying ? now : (state.changes.find((t) => t > now && volumes.some((v) => v.start === t)) ?? state.changes[0]);
  }
  moveTo(Math.min(Math.max(when, lo), hi), { fit: true });
}

function floorStep(ms) {
  return Math.floor(ms / (STEP_S * 1000)) * STEP_S * 1000;
}

// Draw what is active at ``at`` (ms): a volume is active from its start until its end.
function moveTo(at, { fit = false } = {}) {
  state.at = at;
  $("picture-at").value = String(Math.round(at / 1000));
  const iso = new Date(at).toISOString();
  $("picture-when").textContent = `${timeField(iso)} UTC`;
  $("picture-at").setAttribute("aria-valuetext", `${timeField(iso)} UTC`);
  state.drawn.clearLayers();
  const active = new Map();
  for (const item of state.items) {
    for (const v of volumesOf(item)) {
      if (!(v.start <= at && at < v.end)) continue;
      const colour = COLOURS[item.state] || "#1b1f23";
      const layer = volumeLayer(v.volume, { className: `picture-volume state-${item.state}`, color: colour, weight: 2, fillOpacity: 0.3 });
      if (!layer) continue;
      layer.bindTooltip(text(`${item.title} — ${words(item.state)}`));
      layer.on("click", () => hooks.open(item.id));
      state.drawn.addLayer(layer);
      active.set(item.id, item);
    }
  }
  const counts = {};
  for (const item of active.values()) counts[item.state] = (counts[item.state] || 0) + 1;
  $("picture-legend").replaceChildren(...STATES.filter((s) => counts[s] || ["cleared", "pending"].includes(s)).map((s) =>
    el("li", { dataset: { state: s } }, el("span", { class: "swatch", dataset: { state: s } }), ` ${words(s)}: ${counts[s] || 0}`)));
  $("picture-active").replaceChildren(...[...active.values()].map((item) => el("li", { dataset: { id: item.id, state: item.state } },
    el("a", { href: `#/requests/${encodeURIComponent(item.id)}` }, item.title), " ",
    el("span", { class: "state", dataset: { state: item.state } }, words(item.state)))));
  $("picture-none").hidden = active.size > 0;
  if (fit && state.drawn.getLayers().length) {
    state.map.fitBounds(state.drawn.getBounds().pad(0.4), { maxZoom: 8, animate: false });
  }
  hooks.moved(iso);
}

function jump(direction) {
  const at = state.at;
  const next = direction > 0 ? state.changes.find((t) => t > at) : [...state.changes].reverse().find((t) => t < at);
  if (next !== undefined) moveTo(next);
}

export function wirePicture(guarded) {
  $("picture-at").addEventListener("input", () => moveTo(Number($("picture-at").value) * 1000));
  $("picture-prev").addEventListener("click", () => jump(-1));
  $("picture-next").addEventListener("click", () => jump(1));
  $("picture-refresh").addEventListener("click", () => guarded(() => showPicture(state.at)));
}
