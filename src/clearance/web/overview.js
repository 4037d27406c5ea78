// The overview's pictures and forecasts (GET /v1/overview): the bottleneck said in words,
// the charts (charts.js) with their text alternatives, the forecasts of the pending
// requests that start soonest, and forecast against actual.
import { $, el, duration } from "./util.js";
import { waitsChart, automaticChart, forecastActualChart } from "./charts.js";
import { forecastText, percent } from "./forecast.js";

export function renderOverviewPictures(data, requestHash) {
  $("bottleneck").textContent = bottleneckText(data);
  const link = (id) => el("a", { class: "open", href: requestHash(id) }, id);

  const timed = data.authorities.filter((a) => a.median_wait_seconds !== null || a.oldest_waiting_seconds !== null);
  $("waits-chart-box").replaceChildren(timed.length
    ? waitsChart(data.authorities, data.bottleneck)
    : el("p", { class: "muted" }, "No authority has been asked yet."));

  const cleared = data.by_state.cleared || 0;
  $("automatic-chart-box").replaceChildren(automaticChart(data.cleared_automatically, cleared));
  $("automatic-text").textContent = cleared
    ? `${data.cleared_automatically} of ${cleared} cleared requests (${percent(data.automatic_share)}) cleared automatically, by policy or standing grant; ${cleared - data.cleared_automatically} needed a person.`
    : "No request cleared yet.";

  const f = data.forecasts;
  $("pending-forecasts-note").textContent = f.pending > f.items.length
    ? `The ${f.items.length} of ${f.pending} pending requests that start soonest.`
    : `${f.pending} pending request${f.pending === 1 ? "" : "s"}.`;
  $("pending-forecasts-rows").replaceChildren(...f.items.map((i) => el("tr", { dataset: { request: i.request_id, status: i.status } },
    el("th", { scope: "row" }, link(i.request_id)), el("td", {}, i.time_start),
    el("td", { class: "forecast" }, forecastText({ ...i, min_decisions: f.min_decisions })),
    el("td", {}, i.status === "forecast" ? percent(i.before_start_probability) : "—"))));
  if (!f.items.length) $("pending-forecasts-rows").append(el("tr", {}, el("td", { colspan: "4" }, "Nothing pending.")));

  const checked = data.forecast_vs_actual.items;
  const forecast = checked.filter((i) => i.status === "forecast");
  const inside = forecast.filter((i) => i.inside).length;
  $("forecast-actual-note").textContent = checked.length
    ? (forecast.length
      ? `${inside} of ${forecast.length} cleared within the 80 % interval forecast when submitted${checked.length > forecast.length ? `; ${checked.length - forecast.length} had too little history before them to forecast` : ""}.`
      : `None of the ${checked.length} requests people cleared last had enough history before it to forecast.`)
    : "No request cleared by people yet: nothing to compare.";
  $("forecast-chart-box").replaceChildren(forecast.length ? forecastActualChart(checked) : "");
  $("forecast-actual-rows").replaceChildren(...checked.map((i) => el("tr", { dataset: { request: i.request_id, inside: String(i.inside) } },
    el("th", { scope: "row" }, link(i.request_id)),
    el("td", {}, i.status === "forecast" ? duration(i.median_seconds) : "too little history"),
    el("td", {}, i.status === "forecast" ? `${duration(i.low_seconds ?? 0)} to ${i.high_seconds === null ? "beyond any wait seen" : duration(i.high_seconds)}` : "—"),
    el("td", {}, duration(i.actual_seconds)),
    el("td", {}, i.inside === null ? "—" : i.inside ? "yes" : "no"))));
}

// The slowest link in words; with no decision timed yet, who holds requests now.
function bottleneckText(data) {
  if (data.bottleneck) {
    const row = data.authorities.find((a) => a.authority === data.bottleneck);
    return `Slowest link of the chain: ${data.bottleneck} (longest median wait, ${duration(row.median_wait_seconds)}).`;
  }
  const holding = data.authorities.filter((a) => a.waiting_now > 0)
    .sort((a, b) => (b.oldest_waiting_seconds || 0) - (a.oldest_waiting_seconds || 0));
  if (!holding.length) return "No authority has kept a request waiting yet.";
  const who = holding.map((a) => `${a.authority} (${a.waiting_now})`).join(", ");
  const oldest = holding[0];
  return oldest.oldest_waiting_seconds > 0
    ? `No decision has taken any time yet. Waiting now: ${who}; ${oldest.authority} has kept one waiting longest, ${duration(oldest.oldest_waiting_seconds)}.`
    : `Waiting now: ${who}; none has waited any time yet on the service's clock.`;
}
