// List, create and delete collections; add files and folders by drag and drop; browse and delete items.
import {
  bytes, collections, del, dropZone, enc, fillSelect, get, guarded, h, kindOf, models, pathOf, post,
  postWithProgress, readAs, status,
} from "./api.js";
import * as search from "./search.js";

const $ = (id) => document.getElementById(id);
const TEXT_CHUNK = 2000;  // characters per text item: well inside every model's input limit
const PAGE = 50;
let shell;
let nextOffset = null;
let browsed = null;  // the collection the item browser shows
let objectUrls = [];

export function init(app) {
  shell = app;
  $("create-form").addEventListener("submit", (event) => { event.preventDefault(); create(); });
  dropZone($("upload-drop"), [$("upload-files"), $("upload-folder")], upload);
  $("upload-collection").addEventListener("change", () => browse(true));
  $("items-modality").addEventListener("change", () => browse(true));
  $("items-more").addEventListener("click", () => browse(false));
  $("items-delete").addEventListener("click", deleteSelected);
  $("items").addEventListener("change", () => { $("items-delete").disabled = !checked().length; });
}

export async function show() {
  await guarded(null, async () => {
    const [found, served] = await Promise.all([collections(), models()]);
    fillSelect($("create-model"), served.map((m) => m.id));
    fillSelect($("upload-collection"), found.map((c) => c.name));
    const counted = await Promise.all(found.map((c) => get(`/v1/collections/${enc(c.name)}`)));
    $("collection-rows").replaceChildren(...counted.map(row));
    if ($("upload-collection").value !== browsed) await browse(true);
  });
}

function row(c) {
  const open = h("button", { type: "button", class: "secondary", onclick: () => { search.select(c.name); shell.show("search"); } }, "Search");
  const remove = h("button", { type: "button", class: "danger", "aria-label": `Delete collection ${c.name}`, onclick: () => drop(c.name) }, "Delete");
  return h("tr", { "data-name": c.name }, h("th", { scope: "row" }, c.name), h("td", {}, c.model),
    h("td", { class: "count" }, String(c.count)), h("td", { class: "disk" }, bytes(c.disk_bytes)),
    h("td", {}, c.quantization), h("td", {}, c.ocr ? "yes" : "no"), h("td", {}, open, " ", remove));
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
    await browse(true);
  });
}

async function drop(name) {
  if (!confirm(`Delete collection "${name}" and everything in it? This cannot be undone.`)) return;
  await guarded(null, async () => { await del(`/v1/collections/${enc(name)}`); status(`Deleted ${name}.`); await show(); });
}

// A file's items: one per image, video or sound; a text file in chunks. Its folder is metadata to filter on.
async function items(file) {
  const path = pathOf(file);
  const kind = kindOf(file);
  const metadata = { file: path };
  if (path.includes("/")) metadata.folder = path.slice(0, path.lastIndexOf("/"));
  if (!kind) throw new Error("not an image, video, audio or text file");
  if (kind !== "text") return [{ id: path, [kind]: await readAs(file, "dataurl"), metadata }];
  const text = await readAs(file, "text");
  const chunks = [];
  for (let start = 0; start < text.length; start += TEXT_CHUNK) chunks.push(text.slice(start, start + TEXT_CHUNK));
  return chunks.filter((chunk) => chunk.trim()).map((chunk, index) => (
    { id: chunks.length > 1 ? `${path}#${index}` : path, text: chunk, metadata: { ...metadata, chunk: index } }));
}

async function upload(files) {
  const name = $("upload-collection").value;
  if (!name) { status("Create a collection first.", true); return; }
  const overall = $("upload-overall");
  overall.max = files.length;
  overall.value = 0;
  const rows = files.map((file) => {
    const bar = h("progress", { max: "1", value: "0", "aria-label": `${pathOf(file)} progress` });
    const state = h("span", { class: "state" }, "queued");
    return { file, bar, state, element: h("li", { "data-file": pathOf(file) }, h("span", { class: "name" }, pathOf(file)), bar, state) };
  });
  $("upload-list").replaceChildren(...rows.map((r) => r.element));
  let failed = 0;
  for (const [index, r] of rows.entries()) {  // one file per request: a bad file fails alone
    r.state.textContent = "uploading";
    const sent = (fraction) => {  // bytes sent; the last tenth is the server embedding them
      r.bar.value = fraction * 0.9;
      overall.value = index + r.bar.value;
      if (fraction === 1) r.state.textContent = "embedding";
    };
    try {
      const body = await items(r.file);
      if (!body.length) throw new Error("no text in it");
      const answer = await postWithProgress(`/v1/collections/${enc(name)}/items`, { items: body }, sent);
      r.bar.value = 1;
      r.state.textContent = `done (${answer.added.length} item${answer.added.length === 1 ? "" : "s"})`;
    } catch (error) {
      failed += 1;
      r.bar.value = 0;
      r.state.textContent = `failed: ${error.message}`;
    }
    overall.value = index + 1;
  }
  status(`${files.length - failed} of ${files.length} files added to ${name}.`, failed > 0);
  await show();
  await browse(true);
}

const checked = () => [...$("items").querySelectorAll("input:checked")].map((box) => box.value);

// The item browser: a page of the chosen collection's items at a time, with thumbnails.
async function browse(fresh) {
  const name = $("upload-collection").value;
  browsed = name;
  if (fresh) {
    objectUrls.forEach((url) => URL.revokeObjectURL(url));
    objectUrls = [];
    nextOffset = null;
    $("items").replaceChildren();
    $("items-delete").disabled = true;
  }
  $("items-more").hidden = true;
  if (!name) return;
  const query = new URLSearchParams({ limit: String(PAGE) });
  if (nextOffset !== null) query.set("offset", nextOffset);
  if ($("items-modality").value) query.set("modality", $("items-modality").value);
  await guarded($("items-more"), async () => {
    const page = await get(`/v1/collections/${enc(name)}/items?${query}`);
    $("items").append(...page.data.map((item) => itemCard(name, item)));
    nextOffset = page.next_offset ?? null;
    $("items-more").hidden = nextOffset === null;
  });
}

function itemCard(name, item) {
  const picture = item.has_thumbnail ? h("img", { alt: item.id, loading: "lazy" }) : null;
  if (picture) {
    get(`/v1/collections/${enc(name)}/items/${enc(item.id)}/thumbnail`).then((blob) => {
      const url = URL.createObjectURL(blob);
      objectUrls.push(url);
      picture.src = url;
    }).catch(() => {});  // the alt text stands in
  }
  const about = JSON.stringify(item.metadata);
  return h("li", { "data-id": item.id, "data-modality": item.modality, title: about },
    h("label", {}, h("input", { type: "checkbox", value: item.id, "aria-label": `Select ${item.id}` }),
      picture || h("span", { class: "snippet" }, item.text || `(${item.modality})`),
      h("span", { class: "meta" }, h("span", {}, item.modality), h("span", {}, item.id))));
}

async function deleteSelected() {
  const name = $("upload-collection").value;
  const ids = checked();
  if (!ids.length || !confirm(`Delete ${ids.length} item${ids.length === 1 ? "" : "s"} from ${name}?`)) return;
  await guarded(null, async () => {
    await post(`/v1/collections/${enc(name)}/items/delete`, { ids });
    status(`Deleted ${ids.length} item${ids.length === 1 ? "" : "s"} from ${name}.`);
    await show();
    await browse(true);
  });
}
