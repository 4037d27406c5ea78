// Clearance: the page. Plain JavaScript modules, no framework, no build step, no other host.
// The side column holds the queue (members) and the list of requests; the wide column
// shows one of the overview, the compose form (operators), the common picture or one
// request. Every view has an address (#/overview, #/compose, #/picture[/INSTANT],
// #/requests, #/requests/ID, #/queue/AUTHORITY): it can be reloaded, shared, and the
// browser's back and forward buttons walk through what was shown.
import { $, el, api, guarded, token, showMessage, clearMessage, duration, words, deadlineNode } from "./util.js";
import { forgetBase } from "./maps.js";
import { initCompose, wireCompose, composeHooks, startAmending, stopAmending, showComposeMap } from "./compose.js";
import { openRequest, wireRequest, requestHooks, setViewer, followRequest } from "./request.js";
import { showPicture, wirePicture, pictureHooks, setPictureClock } from "./picture.js";
import { forecastNode } from "./forecast.js";
import { renderOverviewPictures } from "./overview.js";
import { refreshMemberKey, wireMemberKey } from "./memberkey.js";
import { refreshWebhooks, wireWebhooks } from "./webhooks.js";
import { refreshGrantSuggestions, forgetGrantSuggestions, wireGrantSuggestions } from "./grantsuggestions.js";

const session = { me: null, signedInAt: 0 };
const WIDE = ["overview", "compose", "request", "picture"];
const FOLLOW_EVERY_MS = 15_000;  // how often the open request, the queue and lists are re-read

// The service's present time, estimated from /v1/me and the time since sign-in, run
// forward at the service clock's rate (a replayed scenario may run faster than real time;
// a pinned clock stands still).
const serviceNow = () =>
  Date.parse(session.me.now) + (Date.now() - session.signedInAt) * (session.me.clock_rate ?? 1);

// ---- sign-in ------------------------------------------------------------------------

async function signIn(value) {
  token.set(value);
  try {
    session.me = await api("GET", "/v1/me");
  } catch (e) {
    token.clear();
    session.me = null;
    throw e;
  }
  session.signedInAt = Date.now();
  setViewer(session.me, serviceNow);
  setPictureClock(serviceNow);
  renderSession();
  if (session.me.operator) await initCompose(session.me);
  await guarded(() => refreshMemberKey(session.me));
  await guarded(route);  // an address naming what this principal may not see says so; the lists still load
  await refreshAll();
}

function signOut() {
  token.clear();
  session.me = null;
  setViewer(null, null);
  refreshMemberKey(null);
  forgetGrantSuggestions();
  forgetBase();
  stopAmending();
  clearMessage();
  renderSession();
  for (const id of WIDE) $(id).hidden = true;
  document.title = "Clearance";
  history.replaceState(null, "", location.pathname);  // the next person starts at home
}

function renderSession() {
  const me = session.me;
  $("signin").hidden = !!me;
  $("whoami").hidden = !me;
  $("nav").hidden = !me;
  $("intro").hidden = !!me;
  $("nav-compose").hidden = !(me && me.operator);
  $("nav-queue").hidden = !(me && me.authority);
  $("queue").hidden = !(me && me.authority);
  $("requests").hidden = !me;
  $("webhooks").hidden = !me;
  $("grant-suggestions").hidden = !(me && me.authority);  // a member's, of their authority
  if (!me) return;
  const roles = [];
  if (me.operator) roles.push(`operator ${me.operator}`);
  if (me.authority) roles.push(`member of ${me.authority}`);
  $("who").textContent = `Signed in as ${me.name} (${roles.join(", ") || "no role"})`;
  if (me.authority) $("queue-h").textContent = `Queue of ${me.authority}`;
}

// ---- addresses ----------------------------------------------------------------------

// Go to ``hash`` (a new history entry unless ``replace``) and show what it names.
async function navigate(hash, { replace = false } = {}) {
  if (location.hash !== hash) history[replace ? "replaceState" : "pushState"](null, "", hash);
  await route();
}

const requestHash = (id) => `#/requests/${encodeURIComponent(id)}`;
const openHash = (id) => navigate(requestHash(id));

function homeHash() {
  return session.me && session.me.operator ? "#/compose" : "#/overview";
}

// Show what the address names (after sign-in; before it, the address waits).
async function route() {
  if (!session.me) return;
  const [view, arg] = location.hash.replace(/^#\/?/, "").split("/").map((p) => decodeURIComponent(p || ""));
  const me = session.me;
  if (view === "requests" && arg) {
    await openRequest(arg);
  } else if (view === "requests") {
    show("requests");
  } else if (view === "queue" && me.authority) {
    if (arg !== me.authority) return navigate(`#/queue/${encodeURIComponent(me.authority)}`, { replace: true });
    show("queue");
    await refreshQueue();
  } else if (view === "compose" && me.operator) {
    show("compose");
  } else if (view === "overview") {
    show("overview");
  } else if (view === "picture") {
    show("picture");
    const at = arg ? Date.parse(arg) : NaN;
    await showPicture(Number.isFinite(at) ? at : null);
  } else {
    await navigate(homeHash(), { replace: true });
  }
}

// Show one view in the wide column, or focus a side section (the wide column then shows
// the overview if it shows nothing yet).
function show(view) {
  if (!WIDE.includes(view) && WIDE.every((id) => $(id).hidden)) show("overview");
  if (WIDE.includes(view)) {
    for (const id of WIDE) $(id).hidden = id !== view;
    if (view === "overview") guarded(refreshOverview);
    if (view === "compose") showComposeMap();
    if (view !== "request") document.title = `${$(`${view}-h`).textContent} — Clearance`;
  }
  for (const tab of document.querySelectorAll("#nav .tab")) {
    tab.setAttribute("aria-current", tab.dataset.view === view ? "page" : "false");
  }
  const target = view === "request" ? $("request-h") : $(`${view}-h`);
  if (target) {
    target.tabIndex = -1;
    target.focus();
  }
}

// ---- lists --------------------------------------------------------------------------

async function refreshAll() {
  const tasks = [refreshRequests(), refreshOverview(), refreshWebhooks()];
  if (session.me && session.me.authority) tasks.push(refreshQueue(), refreshGrantSuggestions());
  await Promise.all(tasks);
}

// A request in a list: its title, a link to its address.
function requestLink(item) {
  return el("a", { class: "open", href: requestHash(item.id), title: item.id }, item.title);
}

function stateChip(item) {
  return el("span", { class: "state", dataset: { state: item.state } }, words(item.state));
}

async function refreshQueue() {
  const authority = session.me.authority;
  const data = await api("GET", `/v1/authorities/${encodeURIComponent(authority)}/queue`);
  const list = $("queue-items");
  list.replaceChildren(...data.items.map((item) => el("li", { dataset: { id: item.id } },  // oldest first
    requestLink(item), " ",
    el("span", { class: "age" }, `waiting ${duration(item.age_seconds)}`), " ",
    // the authority's review deadline (the scenario's review_deadline), when it has one
    item.review_deadline ? [deadlineNode(item.review_deadline, serviceNow(), item.overdue), " "] : null,
    forecastNode(item.forecast))));
  $("queue-empty").hidden = data.items.length > 0;
}

async function refreshRequests() {
  const wanted = $("requests-state").value;
  const data = await api("GET", `/v1/requests?limit=50${wanted ? `&state=${encodeURIComponent(wanted)}` : ""}`);
  $("requests-items").replaceChildren(...data.items.map((item) => el("li", { dataset: { id: item.id } },
    requestLink(item), " ", stateChip(item))));
  if (!data.items.length) $("requests-items").append(el("li", {}, "No request."));
}

async function refreshOverview() {
  const data = await api("GET", "/v1/overview");
  $("overview-limit").textContent = data.limit.toLocaleString("en");
  $("by-state").replaceChildren(...Object.entries(data.by_state).map(([s, n]) =>
    el("li", { dataset: { state: s } }, el("span", { class: "state" }, words(s)), " ", el("strong", {}, n))));
  $("waits-rows").replaceChildren(...data.authorities.map((a) => el("tr",
    { class: a.authority === data.bottleneck ? "bottleneck" : "", dataset: { authority: a.authority } },
    el("th", { scope: "row" }, a.authority), el("td", {}, a.decisions),
    el("td", {}, duration(a.median_wait_seconds)), el("td", {}, duration(a.p90_wait_seconds)),
    el("td", {}, a.waiting_now), el("td", {}, duration(a.oldest_waiting_seconds)))));
  if (!data.authorities.length) {
    $("waits-rows").append(el("tr", {}, el("td", { colspan: "6" }, "No authority has been asked yet.")));
  }
  renderOverviewPictures(data, requestHash);
}

// ---- keyboard: the queue ------------------------------------------------------------

function queueButtons() {
  return [...document.querySelectorAll("#queue-items a.open")];
}

function onKey(event) {
  if (!session.me || event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
  const buttons = queueButtons();
  const at = buttons.indexOf(document.activeElement);
  if ((event.key === "j" || event.key === "k") && session.me.authority) {
    if (!buttons.length) return;
    const next = at < 0 ? 0 : Math.max(0, Math.min(buttons.length - 1, at + (event.key === "j" ? 1 : -1)));
    buttons.forEach((b, i) => b.closest("li").classList.toggle("selected", i === next));
    buttons[next].focus();
    event.preventDefault();
  } else if (event.key === "o" && at >= 0) {
    buttons[at].click();
    event.preventDefault();
  } else if (event.key === "r") {
    guarded(refreshAll);
    event.preventDefault();
  } else if (event.key === "/") {
    $("open-id").focus();
    event.preventDefault();
  }
}

// ---- wiring -------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("signin").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("token").value.trim();
    $("token").value = "";
    guarded(async () => { clearMessage(); await signIn(value); });
  });
  $("signout").addEventListener("click", signOut);
  for (const tab of document.querySelectorAll("#nav .tab")) {
    tab.addEventListener("click", () => {
      const view = tab.dataset.view;
      const hash = view === "queue" ? `#/queue/${encodeURIComponent(session.me.authority)}` : `#/${view}`;
      guarded(() => navigate(hash));
    });
  }
  window.addEventListener("hashchange", () => guarded(route));  // back, forward, a typed address
  composeHooks({
    submitted: async (record, note) => {
      await navigate(requestHash(record.id));
      showMessage(note, "info");
      await refreshAll();
    },
    openRequest: (id) => guarded(() => openHash(id)),
  });
  requestHooks({
    shown: () => show("request"),
    changed: refreshAll,
    open: (id) => guarded(() => openHash(id)),
    amend: (record) => { startAmending(record); guarded(() => navigate("#/compose")); },
  });
  pictureHooks({
    open: (id) => guarded(() => openHash(id)),
    // the instant shown is part of the address, without a history entry per step
    moved: (iso) => { if (location.hash.startsWith("#/picture")) history.replaceState(null, "", `#/picture/${iso}`); },
  });
  wireCompose(guarded);
  wireRequest(guarded);
  wireMemberKey(guarded);
  wireWebhooks(guarded);
  wireGrantSuggestions(guarded, () => session.me && session.me.authority);
  wirePicture(guarded);
  $("queue-refresh").addEventListener("click", () => guarded(refreshQueue));
  $("requests-refresh").addEventListener("click", () => guarded(refreshRequests));
  $("requests-state").addEventListener("change", () => guarded(refreshRequests));
  $("overview-refresh").addEventListener("click", () => guarded(async () => {
    await Promise.all([refreshOverview(), session.me && session.me.authority ? refreshGrantSuggestions() : null]);
  }));
  $("open-form").addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(() => openHash($("open-id").value.trim()));
  });
  document.addEventListener("keydown", onKey);
  setInterval(() => {
    if (!session.me || document.visibilityState !== "visible") return;
    guarded(async () => {
      await followRequest();
      if (session.me && session.me.authority) await refreshQueue();
      await refreshRequests();
    });
  }, FOLLOW_EVERY_MS);
  renderSession();
  if (token.get()) guarded(() => signIn(token.get()));
});
