// Try a served model: embed texts and images, compare them as a heat map, classify an image.
import { dropZone, fillSelect, guarded, h, models, post, readAs, status } from "./api.js";

const $ = (id) => document.getElementById(id);
const images = [];  // {name, uri} to compare
let classifyImage = null;

export function init() {
  dropZone($("play-drop"), $("play-files"), addImages);
  dropZone($("classify-drop"), $("classify-file"), async (files) => {
    classifyImage = await readAs(files[0], "dataurl");
    $("classify-preview").src = classifyImage;
    $("classify-preview").hidden = false;
  });
  $("compare-form").addEventListener("submit", (event) => { event.preventDefault(); compare(); });
  $("classify-form").addEventListener("submit", (event) => { event.preventDefault(); classify(); });
}

export async function show() {
  await guarded(null, async () => fillSelect($("play-model"), (await models()).map((m) => m.id)));
}

async function addImages(files) {
  for (const file of files.filter((f) => f.type.startsWith("image/"))) {
    const uri = await readAs(file, "dataurl");
    images.push({ name: file.name, uri });
    $("play-images").append(h("li", {}, h("img", { src: uri, alt: file.name })));
  }
}

function inputs() {
  const texts = $("play-texts").value.split("\n").map((t) => t.trim()).filter(Boolean);
  const parts = images.map((image) => ({ type: "image_url", image_url: { url: image.uri } }));
  return { labels: [...texts, ...images.map((i) => i.name)], items: [...texts, ...parts] };
}

async function compare() {
  const { labels, items } = inputs();
  if (!items.length) { status("Enter a text or drop an image.", true); return; }
  const model = $("play-model").value || undefined;
  await guarded($("play-go"), async () => {
    const started = performance.now();
    const embedded = await post("/v1/embeddings", { model, input: items });
    const took = performance.now() - started;
    const dimension = embedded.data[0].embedding.length;
    $("play-summary").textContent =
      `${items.length} vectors of ${dimension} dimensions (${dimension * 4} bytes each as float32) in ${Math.round(took)} ms.`;
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
