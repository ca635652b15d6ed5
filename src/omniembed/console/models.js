// Served models and live health from /metrics (polled only while this tab is shown).
import { get, guarded, h, models } from "./api.js";

const $ = (id) => document.getElementById(id);
const POLL_MS = 5000;
let timer = null;
let previous = null;  // {requests, at} of the last poll, for the request rate

export function init() {}

export async function show() {
  await guarded(null, async () => {
    $("model-rows").replaceChildren(...(await models()).map((m) => {
      const c = m.capabilities;
      return h("tr", {}, h("th", { scope: "row" }, m.id), h("td", {}, c.modalities.join(", ")),
        h("td", {}, String(c.dimension)), h("td", {}, c.runtime), h("td", {}, c.precision), h("td", {}, c.tasks.join(", ")));
    }));
  });
  await poll();
  clearInterval(timer);
  timer = setInterval(poll, POLL_MS);
}

export function hide() { clearInterval(timer); timer = null; }

function samples(text, name) {
  const found = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const match = /^(\w+)(?:\{(.*)\})? (\S+)/.exec(line);
    if (match && match[1] === name) found.push({ labels: match[2] || "", value: Number(match[3]) });
  }
  return found;
}

const sum = (rows) => rows.reduce((total, row) => total + row.value, 0);
const label = (row, name) => new RegExp(`${name}="([^"]*)"`).exec(row.labels)?.[1];
const QUANTILES = ["0.5", "0.9", "0.99"];
const RECENT = "omniembed_http_request_recent_seconds";

// Exact percentiles over each route's recent requests, from the summary the server computes.
function recent(text) {
  const routes = new Map();
  for (const row of samples(text, RECENT)) {
    const route = label(row, "route");
    if (!routes.has(route)) routes.set(route, {});
    routes.get(route)[label(row, "quantile")] = row.value;
  }
  for (const row of samples(text, `${RECENT}_count`)) if (routes.has(label(row, "route"))) routes.get(label(row, "route")).count = row.value;
  return [...routes].map(([route, values]) => ({ route, count: values.count, cells: QUANTILES.map((q) => ms(values[q])) }));
}

const ms = (seconds) => (seconds === undefined ? "–" : `${(seconds * 1000).toFixed(1)} ms`);

// An older server has only the histogram: its quantiles are bucket bounds, over every route.
function histogram(text) {
  const byBound = new Map();
  for (const row of samples(text, "omniembed_http_request_seconds_bucket")) {
    byBound.set(label(row, "le"), (byBound.get(label(row, "le")) || 0) + row.value);
  }
  const buckets = [...byBound].map(([le, count]) => ({ le: Number(le), count })).sort((a, b) => a.le - b.le);
  const total = buckets.at(-1)?.count || 0;
  const bound = (q) => {
    const bucket = total ? buckets.find((b) => b.count >= q * total) : null;
    if (!bucket) return "–";
    return Number.isFinite(bucket.le) ? `≤ ${bucket.le * 1000} ms` : "over the top bucket";
  };
  return [{ route: "all routes (histogram bounds)", count: total, cells: QUANTILES.map((q) => bound(Number(q))) }];
}

async function poll() {
  const text = await guarded(null, () => get("/metrics"));
  if (typeof text !== "string") return;
  const requests = sum(samples(text, "omniembed_http_requests_total"));
  const now = performance.now();
  const rate = previous ? ((requests - previous.requests) * 1000) / (now - previous.at) : null;
  previous = { requests, at: now };
  const stats = {
    "Queue depth (items)": String(sum(samples(text, "omniembed_queue_items"))),
    "Requests served": String(requests),
    "Request rate": rate === null ? "measuring…" : `${rate.toFixed(2)} /s`,
    "Overload rejections": String(sum(samples(text, "omniembed_overload_rejections_total"))),
  };
  $("health").replaceChildren(...Object.entries(stats).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
  const rows = text.includes(`# TYPE ${RECENT} summary`) ? recent(text) : histogram(text);
  $("latency-rows").replaceChildren(...rows.map(({ route, count, cells }) => h("tr", { "data-route": route },
    h("th", { scope: "row" }, route), h("td", {}, count === undefined ? "–" : String(count)), cells.map((cell) => h("td", {}, cell)))));
}
