// Try a served model: embed texts, images, videos and sounds, compare them as a heat map, see the
// vectors' sizes by output type, classify an image.
import { dropZone, fillSelect, guarded, h, kindOf, models, post, readAs, status } from "./api.js";

const $ = (id) => document.getElementById(id);
const files = [];  // {name, kind, uri} to compare
const BYTES = { float: (d) => d * 4, int8: (d) => d, binary: (d) => Math.ceil(d / 8) };
let classifyImage = null;
let modalitiesOf = {};  // model id → what it embeds

export function init() {
  dropZone($("play-drop"), $("play-files"), addFiles);
  dropZone($("classify-drop"), $("classify-file"), async (chosen) => {
    classifyImage = await readAs(chosen[0], "dataurl");
    $("classify-preview").src = classifyImage;
    $("classify-preview").hidden = false;
  });
  $("compare-form").addEventListener("submit", (event) => { event.preventDefault(); compare(); });
  $("compare-form").addEventListener("change", (event) => {  // another output type: embed again to measure it
    if (event.target.name === "output" && $("play-summary").textContent) compare();
  });
  $("classify-form").addEventListener("submit", (event) => { event.preventDefault(); classify(); });
}

let loaded = Promise.resolve();  // the capabilities' fetch: files dropped meanwhile wait for it

export async function show() {
  loaded = guarded(null, async () => {
    const served = await models();
    modalitiesOf = Object.fromEntries(served.map((m) => [m.id, m.capabilities.modalities]));
    fillSelect($("play-model"), served.map((m) => m.id));
  });
  await loaded;
}

async function addFiles(chosen) {
  await loaded;
  const model = $("play-model").value;
  const embeds = modalitiesOf[model] || [];
  for (const file of chosen) {
    const kind = kindOf(file);
    if (!embeds.includes(kind)) {
      status(`Model ${model} embeds ${embeds.join(", ")}: it cannot embed ${file.name} (${kind || file.type || "unknown type"}).`, true);
      continue;
    }
    const entry = { name: file.name, kind, uri: await readAs(file, "dataurl") };
    files.push(entry);
    const preview = kind === "image" ? h("img", { src: entry.uri, alt: file.name }) : h("span", { class: "chip" }, `${kind}: ${file.name}`);
    const item = h("li", { "data-kind": kind }, preview, h("button", {
      type: "button", class: "secondary", "aria-label": `Remove ${file.name}`,
      onclick: () => { files.splice(files.indexOf(entry), 1); item.remove(); },
    }, "×"));
    $("play-images").append(item);
  }
}

const PARTS = {
  image: (uri) => ({ type: "image_url", image_url: { url: uri } }),
  video: (uri) => ({ type: "video_url", video_url: { url: uri } }),
  audio: (uri) => ({ type: "input_audio", input_audio: { data: uri } }),
};

function inputs() {
  const texts = $("play-texts").value.split("\n").map((t) => t.trim()).filter(Boolean);
  const parts = files.map((file) => PARTS[file.kind](file.uri));
  return { labels: [...texts, ...files.map((f) => f.name)], items: [...texts, ...parts] };
}

async function compare() {
  const { labels, items } = inputs();
  if (!items.length) { status("Enter a text or drop a file.", true); return; }
  const model = $("play-model").value || undefined;
  const type = $("compare-form").querySelector('input[name="output"]:checked').value;
  await guarded($("play-go"), async () => {
    const started = performance.now();
    const embedded = await post("/v1/embeddings", { model, input: items, encoding_format: type });
    const took = performance.now() - started;
    const length = embedded.data[0].embedding.length;  // binary packs 8 dimensions in a byte
    const dimension = type === "binary" ? length * 8 : length;
    const measured = type === "float" ? length * 4 : length;
    $("play-summary").textContent =
      `${items.length} vectors of ${dimension} dimensions in ${Math.round(took)} ms; as ${type}, ${measured} bytes each.`;
    $("size-rows").replaceChildren(...Object.entries(BYTES).map(([name, size]) => h("tr", { class: name === type ? "chosen" : "", "data-type": name },
      h("th", { scope: "row" }, name), h("td", {}, String(size(dimension))), h("td", {}, String(size(dimension) * items.length)))));
    $("sizes").hidden = false;
    const scored = await post("/v1/score", { model, queries: items, documents: items });
    $("heatmap").replaceChildren(heatmap(labels, scored.scores));
  });
}

function heatmap(labels, scores) {
  const flat = scores.flat();
  const low = Math.min(...flat);
  const high = Math.max(...flat);
  const cell = (value) => {
    const td = h("td", {}, value.toFixed(2));
    const t = high > low ? (value - low) / (high - low) : 1;
    td.style.backgroundColor = `hsl(${220 - 190 * t} 85% ${88 - 30 * t}%)`;  // light enough for dark text
    return td;
  };
  const head = h("tr", {}, h("td", {}), labels.map((label) => h("th", { scope: "col", title: label }, label)));
  const rows = scores.map((row, i) => h("tr", {}, h("th", { scope: "row", title: labels[i] }, labels[i]), row.map(cell)));
  return h("table", { class: "heatmap", "aria-label": "Similarity matrix" }, h("thead", {}, head), h("tbody", {}, rows));
}

async function classify() {
  const labels = $("classify-labels").value.split(",").map((l) => l.trim()).filter(Boolean);
  if (!classifyImage || !labels.length) { status("Choose an image and give some labels.", true); return; }
  await guarded($("classify-go"), async () => {
    const answer = await post("/v1/classify", {
      model: $("play-model").value || undefined,
      inputs: [{ type: "image_url", image_url: { url: classifyImage } }],
      labels,
    });
    const ranked = answer.data[0].labels;
    $("bars").replaceChildren(...ranked.flatMap(({ label, score }) => {
      const bar = h("div", { class: "bar", role: "img", "aria-label": `${label}: ${(score * 100).toFixed(1)}%` });
      bar.style.width = `${Math.max(score * 100, 0.5)}%`;
      return [h("span", { class: "label" }, label), h("div", {}, bar), h("span", {}, `${(score * 100).toFixed(1)}%`)];
    }));
    status(`Best label: ${answer.data[0].label}.`);
  });
}
