// The chain of approvals drawn as stages: each authority's status, why, by which grant,
// since when it waits, and who decided when. Used by the request page and by the
// evaluation shown while composing.
import { el, words, duration, deadlineNode } from "./util.js";

const REQUEST_ID = /req-[0-9a-f]+/g;

// ``options.waitingSince`` and ``options.deadlines`` (its review deadline) map an
// authority to an RFC 3339 instant; ``options.now`` is
// the service's present time, for "pending for"; ``options.member`` (the signed-in
// member's authority) and ``options.revoke(grant)`` offer that authority's grants for
// revocation.
export function renderChain(list, approvals, awaiting = [], options = {}) {
  const stages = new Map();
  for (const a of approvals) {
    if (!stages.has(a.stage)) stages.set(a.stage, []);
    stages.get(a.stage).push(a);
  }
  const holding = new Set(awaiting);
  list.replaceChildren();
  for (const stage of [...stages.keys()].sort((x, y) => x - y)) {
    const cards = el("ul", { class: "authorities" });
    for (const a of stages.get(stage)) {
      const waits = holding.has(a.authority);
      const card = el("li", { class: `authority${waits ? " awaiting" : ""}`, dataset: { authority: a.authority, status: a.status } },
        el("strong", {}, a.authority), " ",
        el("span", { class: "muted" }, `(${a.party})`), " ",
        el("span", { class: `status status-${a.status}` }, words(a.status)),
        waits ? el("span", { class: "awaiting-label" }, " — holds the request") : null);
      if (waits && options.waitingSince && options.waitingSince[a.authority]) {
        const since = options.waitingSince[a.authority];
        const seconds = options.now ? (Date.parse(options.now) - Date.parse(since)) / 1000 : null;
        card.append(el("div", { class: "muted" }, `pending since ${since}`, seconds !== null ? ` (${duration(Math.max(0, seconds))})` : ""));
      }
      const due = waits && options.deadlines ? options.deadlines[a.authority] : null;
      if (due) card.append(el("div", { class: "review-due" }, deadlineNode(due, options.now ? Date.parse(options.now) : Date.now())));
      if (a.grant) {
        const line = el("div", { class: "grant" }, `covered by grant ${a.grant}`);
        // the grantor's own members may withdraw the grant (the API checks it again)
        if (options.revoke && options.member === a.authority) {
          line.append(" ", el("button", { type: "button", class: "link", onclick: () => options.revoke(a.grant) },
            `Revoke grant ${a.grant}`));
        }
        card.append(line);
      }
      if (a.by || a.at) card.append(el("div", { class: "muted" }, `${a.status === "denied" ? "denied" : "approved"} by ${a.by || "?"} at ${a.at || "?"}`));
      if (a.comment) card.append(el("div", { class: "comment" }, `“${a.comment}”`));
      if (a.conditions) {
        const c = a.conditions;
        const window = c.time_start || c.time_end ? ` (only ${c.time_start || "…"} to ${c.time_end || "…"})` : "";
        card.append(el("div", { class: "conditions" }, `Conditions: ${c.text}${window}`));
      }
      if (a.reasons && a.reasons.length) {
        card.append(el("ul", { class: "reasons" }, a.reasons.map((reason) => el("li", {}, reason))));
      }
      if (a.policies && a.policies.length) {
        card.append(el("div", { class: "muted" }, `policies: ${a.policies.join(", ")}`));
      }
      cards.append(card);
    }
    list.append(el("li", { class: "stage" }, el("div", { class: "label" }, `Stage ${stage}`), cards));
  }
}

// Violations; request ids in their messages become buttons that open those requests.
export function renderViolations(list, violations, openRequest) {
  list.replaceChildren(...violations.map((v) => el("li", { dataset: { code: v.code } },
    el("code", {}, v.code), " ", ...linkIds(v.message, openRequest))));
}

export function linkIds(text, openRequest) {
  if (!openRequest) return [text];
  const parts = [];
  let last = 0;
  for (const m of String(text).matchAll(REQUEST_ID)) {
    parts.push(text.slice(last, m.index));
    const id = m[0];
    parts.push(el("button", { type: "button", class: "link", "aria-label": `Open request ${id}`, onclick: () => openRequest(id) }, id));
    last = m.index + id.length;
  }
  parts.push(text.slice(last));
  return parts;
}
