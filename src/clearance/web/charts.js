// The overview as pictures, drawn as plain SVG (three small charts do not need a chart
// library): time to a decision per authority (median bar, 90th-percentile whisker, the
// oldest wait now as a ring; the bottleneck in its own colour), the share of the cleared
// requests no person had to approve, and forecast against actual for the requests people
// cleared last. Each chart is an image with a title and a description saying what it
// shows; the tables beside it give every figure as text.
import { el, duration } from "./util.js";

const NS = "http://www.w3.org/2000/svg";
let serial = 0;

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) node.setAttribute(k, String(v));
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

// An accessible chart: role img, named by its <title>, described by ``description``.
function figure(className, width, height, title, description, ...children) {
  serial += 1;
  const t = `chart-title-${serial}`, d = `chart-desc-${serial}`;
  return svg("svg", { class: `chart ${className}`, viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-labelledby": `${t} ${d}` },
    svg("title", { id: t }, title), svg("desc", { id: d }, description), ...children);
}

const LABEL = 110, RIGHT = 90, ROW = 26, WIDTH = 560;

// A "nice" top of scale (in seconds) and its unit, for ticks in hours or minutes.
function scale(max) {
  const unit = max >= 2 * 3600 ? 3600 : 60;
  const name = unit === 3600 ? "h" : "min";
  const top = Math.max(1, Math.ceil(max / unit));
  const step = [1, 2, 5, 10, 12, 24, 48, 100, 200, 500].find((s) => top / s <= 6) || Math.ceil(top / 6);
  return { unit, name, top: Math.ceil(top / step) * step * unit, step: step * unit };
}

function axis(sc, x, y) {
  const ticks = [];
  for (let v = 0; v <= sc.top; v += sc.step) {
    ticks.push(svg("line", { x1: x(v), x2: x(v), y1: 0, y2: y, class: "grid" }),
      svg("text", { x: x(v), y: y + 14, "text-anchor": "middle", class: "tick" }, `${v / sc.unit}${v ? "" : ` ${sc.name}`}`));
  }
  return ticks;
}

// Time to a decision per authority. ``rows`` are the overview's ``authorities``.
export function waitsChart(rows, bottleneck) {
  const shown = rows.filter((r) => r.median_wait_seconds !== null || r.oldest_waiting_seconds !== null);
  const max = Math.max(1, ...shown.flatMap((r) => [r.p90_wait_seconds || 0, r.oldest_waiting_seconds || 0]));
  const sc = scale(max);
  const plot = WIDTH - LABEL - RIGHT;
  const x = (s) => LABEL + (plot * s) / sc.top;
  const height = shown.length * ROW + 24;
  const bars = shown.map((r, i) => {
    const y = i * ROW + 4;
    const slow = r.authority === bottleneck;
    const parts = [svg("text", { x: LABEL - 6, y: y + 14, "text-anchor": "end", class: "label" }, r.authority)];
    if (r.median_wait_seconds !== null) {
      parts.push(svg("rect", { x: LABEL, y: y + 3, width: Math.max(1, x(r.median_wait_seconds) - LABEL), height: 14, class: slow ? "bar slow" : "bar" }));
      parts.push(svg("line", { x1: x(r.median_wait_seconds), x2: x(r.p90_wait_seconds), y1: y + 10, y2: y + 10, class: "whisker" }),
        svg("line", { x1: x(r.p90_wait_seconds), x2: x(r.p90_wait_seconds), y1: y + 5, y2: y + 15, class: "whisker" }));
    }
    if (r.oldest_waiting_seconds !== null) {
      parts.push(svg("circle", { cx: x(r.oldest_waiting_seconds), cy: y + 10, r: 5, class: "waiting" }));
    }
    const text = r.median_wait_seconds !== null ? `median ${duration(r.median_wait_seconds)}` : `${r.waiting_now} waiting`;
    parts.push(svg("text", { x: WIDTH - RIGHT + 6, y: y + 14, class: "value" }, text));
    return svg("g", { class: slow ? "row bottleneck" : "row", "data-authority": r.authority }, parts);
  });
  const described = shown.map((r) => `${r.authority}: ${r.median_wait_seconds !== null ? `median ${duration(r.median_wait_seconds)}, 90th percentile ${duration(r.p90_wait_seconds)}` : "no decision yet"}` +
    `${r.waiting_now ? `, ${r.waiting_now} waiting now, the oldest for ${duration(r.oldest_waiting_seconds)}` : ""}`).join("; ");
  return figure("waits-chart", WIDTH, height, "Time to a decision per authority",
    `Bars: median wait; whisker: 90th percentile; ring: the oldest request waiting now.${bottleneck ? ` Slowest: ${bottleneck}.` : ""} ${described}.`,
    axis(sc, x, shown.length * ROW + 4), bars);
}

// The share of cleared requests no person had to approve.
export function automaticChart(automatic, cleared) {
  const width = WIDTH, plot = WIDTH - 20;
  const share = cleared ? automatic / cleared : 0;
  const split = 10 + plot * share;
  const said = cleared
    ? `${automatic} of ${cleared} cleared requests (${Math.round(share * 100)} %) cleared automatically, by policy or standing grant; ${cleared - automatic} needed a person.`
    : "No request cleared yet.";
  return figure("automatic-chart", width, 44, "Cleared automatically", said,
    svg("rect", { x: 10, y: 4, width: plot, height: 18, class: "bar people" }),
    cleared ? svg("rect", { x: 10, y: 4, width: Math.max(0, split - 10), height: 18, class: "bar automatic" }) : null,
    svg("text", { x: 10, y: 38, class: "tick" }, cleared ? `automatic ${Math.round(share * 100)} %` : "none cleared"),
    svg("text", { x: width - 10, y: 38, "text-anchor": "end", class: "tick" }, cleared ? `by people ${Math.round((1 - share) * 100)} %` : ""));
}

// Forecast against actual: per request, the 80 % interval as forecast when it was
// submitted (line), its median (tick) and how long it really took (dot: filled when
// inside the interval).
export function forecastActualChart(items) {
  const rows = items.filter((i) => i.status === "forecast");
  const max = Math.max(1, ...rows.flatMap((i) => [i.actual_seconds, i.high_seconds ?? i.actual_seconds, i.median_seconds ?? 0]));
  const sc = scale(max);
  const plot = WIDTH - LABEL - RIGHT;
  const x = (s) => LABEL + (plot * Math.min(s, sc.top)) / sc.top;
  const height = rows.length * ROW + 24;
  const marks = rows.map((i, n) => {
    const y = n * ROW + 4;
    const high = i.high_seconds ?? sc.top;
    return svg("g", { class: "row", "data-request": i.request_id, "data-inside": String(i.inside) },
      svg("text", { x: LABEL - 6, y: y + 14, "text-anchor": "end", class: "label" }, i.request_id.slice(0, 12)),
      svg("line", { x1: x(i.low_seconds ?? 0), x2: x(high), y1: y + 10, y2: y + 10, class: "interval" }),
      i.median_seconds !== null ? svg("line", { x1: x(i.median_seconds), x2: x(i.median_seconds), y1: y + 3, y2: y + 17, class: "median" }) : null,
      svg("circle", { cx: x(i.actual_seconds), cy: y + 10, r: 5, class: i.inside ? "actual inside" : "actual outside" }),
      svg("text", { x: WIDTH - RIGHT + 6, y: y + 14, class: "value" }, i.inside ? "inside" : "outside"));
  });
  const inside = rows.filter((i) => i.inside).length;
  return figure("forecast-chart", WIDTH, height, "Forecast against actual",
    `${inside} of ${rows.length} requests cleared within the 80 % interval forecast when they were submitted. Line: the interval; tick: the median; dot: the actual time.`,
    axis(sc, x, rows.length * ROW + 4), marks);
}

// A short sentence beside a chart, for people who read rather than look.
export function caption(text) {
  return el("p", { class: "chart-caption" }, text);
}
