// List, create and delete collections; add files to one by drag and drop; delete items.
import { collections, del, dropZone, enc, fillSelect, get, guarded, h, models, post, readAs, status } from "./api.js";
import * as search from "./search.js";

const $ = (id) => document.getElementById(id);
const TEXT_CHUNK = 2000;  // characters per text item: well inside every model's input limit
let shell;

export function init(app) {
  shell = app;
  $("create-form").addEventListener("submit", (event) => { event.preventDefault(); create(); });
  $("delete-item-form").addEventListener("submit", (event) => { event.preventDefault(); deleteItem(); });
  dropZone($("upload-drop"), $("upload-files"), upload);
}

export async function show() {
  await guarded(null, async () => {
    const [found, served] = await Promise.all([collections(), models()]);
    fillSelect($("create-model"), served.map((m) => m.id));
    fillSelect($("upload-collection"), found.map((c) => c.name));
    const counted = await Promise.all(found.map((c) => get(`/v1/collections/${enc(c.name)}`)));
    $("collection-rows").replaceChildren(...counted.map(row));
  });
}

function row(c) {
  const open = h("button", { type: "button", class: "secondary", onclick: () => { search.select(c.name); shell.show("search"); } }, "Search");
  const remove = h("button", { type: "button", class: "danger", "aria-label": `Delete collection ${c.name}`, onclick: () => drop(c.name) }, "Delete");
  return h("tr", { "data-name": c.name }, h("th", { scope: "row" }, c.name), h("td", {}, c.model),
    h("td", { class: "count" }, String(c.count)), h("td", {}, c.quantization), h("td", {}, c.ocr ? "yes" : "no"),
    h("td", {}, open, " ", remove));
}

async function create() {
  const body = {
    name: $("create-name").value.trim(),
    model: $("create-model").value || undefined,
    quantization: $("create-quantization").value,
    ocr: $("create-ocr").checked,
  };
  await guarded($("create-go"), async () => {
    await post("/v1/collections", body);
    status(`Created ${body.name}.`);
    $("create-name").value = "";
    await show();
    $("upload-collection").value = body.name;
  });
}

async function drop(name) {
  if (!confirm(`Delete collection "${name}" and everything in it? This cannot be undone.`)) return;
  await guarded(null, async () => { await del(`/v1/collections/${enc(name)}`); status(`Deleted ${name}.`); await show(); });
}

async function items(file) {
  if (file.type.startsWith("image/")) return [{ id: file.name, image: await readAs(file, "dataurl"), metadata: { file: file.name } }];
  const text = await readAs(file, "text");
  const chunks = [];
  for (let start = 0; start < text.length; start += TEXT_CHUNK) chunks.push(text.slice(start, start + TEXT_CHUNK));
  return chunks.filter((chunk) => chunk.trim()).map((chunk, index) => (
    { id: chunks.length > 1 ? `${file.name}#${index}` : file.name, text: chunk, metadata: { file: file.name, chunk: index } }));
}

async function upload(files) {
  const name = $("upload-collection").value;
  if (!name) { status("Create a collection first.", true); return; }
  const overall = $("upload-overall");
  overall.max = files.length;
  overall.value = 0;
  const rows = files.map((file) => {
    const bar = h("progress", { max: "1", "aria-label": `${file.name} progress` });
    const state = h("span", { class: "state" }, "queued");
    return { file, bar, state, element: h("li", { "data-file": file.name }, h("span", { class: "name" }, file.name), bar, state) };
  });
  $("upload-list").replaceChildren(...rows.map((r) => r.element));
  let failed = 0;
  for (const r of rows) {  // one file per request: a bad file fails alone and progress is per file
    r.state.textContent = "uploading";
    try {
      const answer = await post(`/v1/collections/${enc(name)}/items`, { items: await items(r.file) });
      r.bar.value = 1;
      r.state.textContent = `done (${answer.added.length} item${answer.added.length === 1 ? "" : "s"})`;
    } catch (error) {
      failed += 1;
      r.bar.value = 0;
      r.state.textContent = `failed: ${error.message}`;
    }
    overall.value += 1;
  }
  status(`${files.length - failed} of ${files.length} files added to ${name}.`, failed > 0);
  await show();
}

async function deleteItem() {
  const name = $("upload-collection").value;
  const id = $("delete-item-id").value.trim();
  if (!name || !id || !confirm(`Delete item "${id}" from ${name}?`)) return;
  await guarded(null, async () => { await del(`/v1/collections/${enc(name)}/items/${enc(id)}`); status(`Deleted ${id}.`); await show(); });
}
