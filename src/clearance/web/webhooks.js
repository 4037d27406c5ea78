// The caller's webhook subscriptions and the deliveries that failed every attempt
// ("dead"), each with a button to send it again (POST /v1/deliveries/{id}/redeliver).
import { $, el, api, showMessage, words } from "./util.js";

export async function refreshWebhooks() {
  const [subs, dead] = await Promise.all([
    api("GET", "/v1/subscriptions"), api("GET", "/v1/deliveries?status=dead&limit=50")]);
  $("subscriptions-items").replaceChildren(...subs.items.map((s) => el("li", { dataset: { id: s.id } },
    el("code", {}, s.url), ` for ${s.subscriber.kind} ${s.subscriber.name}: ${s.events.map(words).join(", ")}`)));
  if (!subs.items.length) $("subscriptions-items").append(el("li", {}, "No subscription."));
  $("dead-items").replaceChildren(...dead.items.map((d) => el("li", { dataset: { id: d.id } },
    `${words(d.event)}${d.request_id ? ` of ${d.request_id}` : ""}, ${d.attempts} attempt(s): ${d.last_error || "failed"} `,
    el("button", { type: "button", class: "secondary", "aria-label": `Redeliver ${d.id}`, onclick: () => hooks.guarded(() => redeliver(d.id)) },
      "Redeliver"))));
  if (!dead.items.length) $("dead-items").append(el("li", {}, "No dead delivery."));
}

let hooks = { guarded: (f) => f() };

async function redeliver(id) {
  await api("POST", `/v1/deliveries/${encodeURIComponent(id)}/redeliver`);
  showMessage(`Delivery ${id} will be sent again.`, "info");
  await refreshWebhooks();
}

export function wireWebhooks(guarded) {
  hooks.guarded = guarded;
  $("webhooks-refresh").addEventListener("click", () => guarded(refreshWebhooks));
}
