// A member's grant suggestions (GET /v1/authorities/{id}/grant-suggestions): the standing
// grants that would have cleared what their authority approved by hand in a period and
// none of what it denied, each with what it would cover, those counts and the similar
// grants other operators already hold, and a button that saves its grant proposal (the
// YAML `grants:` entry `clearance grant suggest --out` writes, as the API returns it).
import { $, el, api, readTime, words } from "./util.js";

let hooks = { guarded: (f) => f(), authority: () => null };

export async function refreshGrantSuggestions() {
  const authority = hooks.authority();
  if (!authority) return;
  const since = readTime($("gs-since"), "Since");
  const until = readTime($("gs-until"), "Until");
  const query = new URLSearchParams();
  if (since) query.set("since", since);
  if (until) query.set("until", until);
  const data = await api("GET",
    `/v1/authorities/${encodeURIComponent(authority)}/grant-suggestions${query.size ? `?${query}` : ""}`);
  if (hooks.authority() !== authority) return;  // signed out or in as someone else meanwhile
  const period = `${data.since ? `from ${data.since}` : "from the start"} ${data.until ? `until ${data.until}` : "until now"}`;
  const counts = `${data.approvals} approval${data.approvals === 1 ? "" : "s"} and ${data.denials} denial${data.denials === 1 ? "" : "s"} by hand`;
  $("gs-note").textContent = !data.approvals && !data.denials
    ? `${authority} decided nothing by hand ${period}: no grant suggestion yet.`
    : data.suggestions.length
      ? `From ${authority}'s ${counts} ${period}; a grant would be added to scenario version ${data.scenario_version.slice(0, 12)}.`
      : `No standing grant would have cleared any of ${authority}'s ${counts} ${period} without clearing a denial.`;
  $("gs-items").replaceChildren(...data.suggestions.map((s, i) => suggestionItem(s, i + 1)));
}

export function forgetGrantSuggestions() {
  $("gs-items").replaceChildren();
  $("gs-note").textContent = "";
}

function suggestionItem(s, n) {
  const g = s.grant;
  const heading = `gs-${n}-h`;
  const area = s.new_area ? `a new area of ${Math.round(s.area_km2).toLocaleString("en")} km²` : g.area;
  const time = `from ${g.valid_from}${g.valid_until ? ` until ${g.valid_until}` : ", with no end"}`;
  const denials = s.denials ? `none of the ${s.denials} denial${s.denials === 1 ? "" : "s"}` : "no denial (there was none)";
  return el("li", { dataset: { grant: g.id } },
    el("h4", { id: heading }, `Grant suggestion ${n}: ${g.id}`),
    el("dl", { class: "grant" },
      el("dt", {}, "Operator"), el("dd", {}, g.grantee),
      el("dt", {}, "Purposes"), el("dd", {}, g.purposes.map(words).join(", ")),
      el("dt", {}, "Payloads"), el("dd", {}, g.payloads.map(words).join(", ")),
      el("dt", {}, "Area"), el("dd", {}, area),
      el("dt", {}, "Time"), el("dd", {}, time)),
    el("p", { class: "counts" },
      `Would have cleared ${s.approvals_covered} of ${s.approvals} approval${s.approvals === 1 ? "" : "s"} by hand and ${denials}.`),
    el("p", { class: "similar" }, s.similar.length
      ? `Other operators already hold: ${s.similar.join(", ")}.`
      : "No other operator holds a grant like it."),
    el("button", { type: "button", class: "secondary", "aria-describedby": heading,
      onclick: () => hooks.guarded(async () => save(g.id, s.proposal)) }, "Download as grant proposal"));
}

// Save the proposal's text as a file, from memory (no second request).
function save(id, text) {
  const url = URL.createObjectURL(new Blob([text], { type: "application/yaml" }));
  const link = el("a", { href: url, download: `${id}.proposal.yaml`, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export function wireGrantSuggestions(guarded, authority) {
  hooks = { guarded, authority };
  $("gs-form").addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(refreshGrantSuggestions);
  });
}
