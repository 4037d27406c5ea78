// Shared helpers of the page: DOM building, messages, and the one way to call the API.
// Every call goes to this page's own origin; no other host is ever asked for anything.

const TOKEN_KEY = "clearance.token";

export const $ = (id) => document.getElementById(id);

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export function showMessage(text, kind = "error") {
  const box = $("message");
  box.textContent = text;
  box.className = kind;
  box.hidden = false;
}

export function clearMessage() {
  const box = $("message");
  box.hidden = true;
  box.textContent = "";
}

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

// Call the API; a failure throws ApiError carrying the problem+json detail (never a stack).
// ``body`` is an object (sent as JSON) or { text, type } (sent as written).
export async function api(method, path, body, extraHeaders = {}) {
  const headers = { Accept: "application/json", ...extraHeaders };
  const bearer = token.get();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  const init = { method, headers };
  if (body !== undefined) {
    if (body && typeof body.text === "string" && typeof body.type === "string") {
      headers["Content-Type"] = body.type;
      init.body = body.text;
    } else {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, "the server could not be reached");
  }
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json().catch(() => null) : await response.text();
  if (!response.ok) {
    const problem = data && typeof data === "object" ? data : null;
    const detail = (problem && (problem.detail || problem.title)) || `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, typeof detail === "string" ? detail : JSON.stringify(detail));
  }
  return data;
}

// Run an action; show its error (the problem's detail), never a stack trace.
export async function guarded(action) {
  try {
    return await action();
  } catch (e) {
    showMessage(e instanceof ApiError ? e.message : "Something went wrong in the page.");
    if (!(e instanceof ApiError)) console.error(e);
    return undefined;
  }
}

// A document typed by a person: JSON if it parses as JSON, else sent as YAML for the
// server to read (the server names the line of a YAML mistake).
export function documentBody(text) {
  try {
    const parsed = JSON.parse(text);
    return { body: { text, type: "application/json" }, parsed };
  } catch (e) {
    return { body: { text, type: "application/yaml" }, parsed: null };
  }
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m`;
  return `${s}s`;
}

// Times are typed as UTC, 24-hour, "YYYY-MM-DD HH:MM" (a "T" for the space is read too),
// in plain text fields: a browser's datetime-local picker follows the reader's locale
// (12-hour in some) and would suggest local time.
const TIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})$/;
export const TIME_RULE = "write a UTC time as YYYY-MM-DD HH:MM, 24-hour (e.g. 2017-11-21 18:30)";

// "2020-03-02 18:30" -> "2020-03-02T18:30:00Z"; "" when blank; null when not such a time.
export function parseTime(value) {
  const t = String(value || "").trim();
  if (!t) return "";
  const m = TIME.exec(t);
  if (!m) return null;
  const [y, mo, d, h, mi] = m.slice(1).map(Number);
  const at = new Date(Date.UTC(y, mo - 1, d, h, mi));
  if (h > 23 || mi > 59 || at.getUTCFullYear() !== y || at.getUTCMonth() !== mo - 1 || at.getUTCDate() !== d) return null;
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:00Z`;
}

// an RFC 3339 instant -> "2020-03-02 04:00" for a time field (UTC)
export function timeField(instant) {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(instant || "");
  return m ? `${m[1]} ${m[2]}` : "";
}

// A time field's instant ("" when blank); a clear error naming the field otherwise.
export function readTime(input, label) {
  const at = parseTime(input.value);
  if (at === null) throw new ApiError(0, `${label}: ${TIME_RULE}`);
  return at;
}

export function words(value) {
  return String(value).replaceAll("_", " ");
}

// A review deadline (RFC 3339) against the service's present time (ms since the epoch):
// "due in 3h 0m" or "overdue by 2h 0m", said in words so that colour is never the only
// mark. ``overdue`` (the server's flag, when it sent one) wins over the page's estimate.
export function dueText(at, nowMs, overdue) {
  const seconds = (Date.parse(at) - nowMs) / 1000;
  const late = overdue === undefined || overdue === null ? seconds < 0 : !!overdue;
  return late
    ? { late, text: `overdue by ${duration(Math.max(0, -seconds))}` }
    : { late, text: `due in ${duration(Math.max(0, seconds))}` };
}

// The review deadline as a node: a <time> with the instant, its words, and "Overdue" in
// bold for a late one (class "overdue").
export function deadlineNode(at, nowMs, overdue) {
  const { late, text } = dueText(at, nowMs, overdue);
  return el("span", { class: late ? "deadline overdue" : "deadline", dataset: { overdue: String(late) } },
    late ? el("strong", {}, "Overdue: ") : "Review ",
    el("time", { datetime: at, title: `review due ${at}` }, text));
}
