// When a pending request will likely clear (GET /v1/requests/{id}/forecast and the
// ``forecast`` of queue items and the overview): the median time to clearance, its 80 %
// interval and the chance that it clears before its first time_start; "too little
// history" said plainly, never a guessed figure.
import { $, el, api, ApiError, duration } from "./util.js";

export const percent = (p) => (p === null || p === undefined ? "—" : `${Math.round(p * 100)} %`);

// "2h 0m" or "longer than any wait seen" (a bound beyond the history is null)
const bound = (seconds) => (seconds === null || seconds === undefined ? "longer than any wait seen" : duration(seconds));

// One line for a forecast (``f`` as the API gives it, brief or full).
export function forecastText(f) {
  if (!f) return "";
  if (f.status === "not_pending") return "Waits for no one.";
  if (f.status === "not_enough_history") {
    const who = f.not_enough_history.join(", ");
    return `No forecast: too little history for ${who} (fewer than ${f.min_decisions ?? 5} decisions each).`;
  }
  if (f.median_seconds === null || f.median_seconds === undefined) {
    return `Clears in ${percent(f.clear_probability)} of the draws, later than any wait seen; ${percent(f.before_start_probability)} chance before its start.`;
  }
  return `Likely clears in ${duration(f.median_seconds)} (80 %: ${duration(f.low_seconds ?? 0)} to ${bound(f.high_seconds)}); ` +
    `${percent(f.before_start_probability)} chance before its start.`;
}

// The forecast as a small element for a list (the queue, the overview's pending requests).
export function forecastNode(f) {
  return el("span", { class: "forecast", dataset: { status: f ? f.status : "none" } }, forecastText(f));
}

// The forecast on a request's page: a line, and, on each authority of the chain still to
// decide, how long it usually takes and how much history that rests on.
export async function renderRequestForecast(r, isCurrent) {
  const box = $("request-forecast");
  box.hidden = r.state !== "pending";
  if (box.hidden) return;
  $("request-forecast-text").textContent = "Forecasting…";
  let f;
  try {
    f = await api("GET", `/v1/requests/${encodeURIComponent(r.id)}/forecast`);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    $("request-forecast-text").textContent = `No forecast: ${e.message}`;
    return;
  }
  if (!isCurrent(r.id)) return;  // another request was opened meanwhile
  $("request-forecast-text").textContent = forecastText(f);
  $("request-forecast-text").dataset.status = f.status;
  for (const step of f.remaining) {
    const card = document.querySelector(`#stages li.authority[data-authority="${CSS.escape(step.authority)}"]`);
    if (!card) continue;
    for (const old of card.querySelectorAll(".step-forecast")) old.remove();
    const usual = step.median_wait_seconds === null ? "more than half of its waits still open" : `usually decides in ${duration(step.median_wait_seconds)}`;
    card.append(el("div", { class: "step-forecast muted" },
      step.enough_history ? `Forecast: ${usual} (${step.decisions} decisions)`
        : `Forecast: too little history (${step.decisions} of ${f.min_decisions} decisions needed)`));
  }
}
