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

function quantile(buckets, q) {
  const total = buckets.at(-1)?.count || 0;
  if (!total) return null;
  const bucket = buckets.find((b) => b.count >= q * total);
  return bucket ? bucket.le : null;
}

async function poll() {
  const text = await guarded(null, () => get("/metrics"));
  if (typeof text !== "string") return;
  const requests = sum(samples(text, "omniembed_http_requests_total"));
  const now = performance.now();
  const rate = previous ? ((requests - previous.requests) * 1000) / (now - previous.at) : null;
  previous = { requests, at: now };
  const byBound = new Map();
  for (const row of samples(text, "omniembed_http_request_seconds_bucket")) {
    const le = /le="([^"]+)"/.exec(row.labels)?.[1];
    byBound.set(le, (byBound.get(le) || 0) + row.value);
  }
  const buckets = [...byBound].map(([le, count]) => ({ le: Number(le), count })).sort((a, b) => a.le - b.le);
  const ms = (seconds) => (seconds === null ? "–" : Number.isFinite(seconds) ? `≤ ${seconds * 1000} ms` : "over the top bucket");
  const stats = {
    "Queue depth (items)": String(sum(samples(text, "omniembed_queue_items"))),
    "Requests served": String(requests),
    "Request rate": rate === null ? "measuring…" : `${rate.toFixed(2)} /s`,
    "Latency p50": ms(quantile(buckets, 0.5)),
    "Latency p95": ms(quantile(buckets, 0.95)),
    "Overload rejections": String(sum(samples(text, "omniembed_overload_rejections_total"))),
  };
  $("health").replaceChildren(...Object.entries(stats).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}
