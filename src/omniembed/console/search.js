// Search a collection by text and/or an image, video or sound; results as thumbnails and snippets.
import { collections, del, dropZone, enc, fillSelect, get, guarded, h, kindOf, models, post, readAs, status } from "./api.js";

const $ = (id) => document.getElementById(id);
let media = null;  // {kind, uri, name} of the dropped, pasted or chosen query file
let objectUrls = [];
let opened = null;  // the hit shown in the dialog
let modalitiesOf = {};  // collection name → what its model embeds

export function init() {
  dropZone($("search-drop"), $("search-file"), (files) => setMedia(files[0]));
  document.addEventListener("paste", (event) => {
    if ($("search").hidden) return;
    const file = [...(event.clipboardData?.files || [])][0];
    if (file) { event.preventDefault(); setMedia(file); }
  });
  $("search-clear").addEventListener("click", () => setMedia(null));
  $("search-form").addEventListener("submit", (event) => { event.preventDefault(); run(); });
  $("filter-add").addEventListener("click", () => addFilter());
  $("hit-close").addEventListener("click", () => $("hit-dialog").close());
  $("hit-similar").addEventListener("click", moreLikeThis);
  $("hit-delete").addEventListener("click", deleteOpened);
}

let loaded = Promise.resolve();  // the capabilities' fetch: files dropped meanwhile wait for it

export async function show() {
  loaded = guarded(null, async () => {
    const [found, served] = await Promise.all([collections(), models()]);
    const byModel = Object.fromEntries(served.map((m) => [m.id, m.capabilities.modalities]));
    modalitiesOf = Object.fromEntries(found.map((c) => [c.name, byModel[c.model] || []]));
    fillSelect($("search-collection"), found.map((c) => c.name));
  });
  await loaded;
}

export function select(name) { $("search-collection").value = name; }

async function setMedia(file) {
  await loaded;
  const kind = file ? kindOf(file) : null;
  const name = $("search-collection").value;
  const embeds = modalitiesOf[name] || [];
  if (file && !["image", "video", "audio"].includes(kind)) { status(`${file.name} is not an image, video or audio file.`, true); return; }
  if (file && !embeds.includes(kind)) {
    status(`Collection ${name}'s model embeds ${embeds.join(", ")}: it cannot search by ${kind}.`, true);
    return;
  }
  media = file ? { kind, uri: await readAs(file, "dataurl"), name: file.name } : null;
  $("search-preview").hidden = !media;
  $("search-preview-img").hidden = media?.kind !== "image";
  $("search-preview-img").src = media?.kind === "image" ? media.uri : "";
  $("search-preview-name").textContent = media ? `${media.kind}: ${media.name}` : "";
  if (media) run();
}

function addFilter(key = "", value = "") {
  const number = $("filter-rows").children.length + 1;
  const line = h("div", { class: "row filter" },
    h("label", {}, `Key ${number}`, h("input", { class: "filter-key", value: key, autocomplete: "off" })),
    h("label", {}, `Value ${number}`, h("input", { class: "filter-value", value, autocomplete: "off" })),
    h("button", { type: "button", class: "secondary", "aria-label": `Remove filter ${number}`, onclick: () => line.remove() }, "Remove"));
  $("filter-rows").append(line);
  line.querySelector("input").focus();
}

// 42 is a number, true and false are booleans, anything else (or "42" in quotes) is a string.
function typed(raw) {
  if (raw === "true" || raw === "false") return raw === "true";
  if (/^-?\d+$/.test(raw)) return Number(raw);
  return raw.replace(/^"(.*)"$/, "$1");
}

function filters() {
  const found = {};
  for (const line of $("filter-rows").children) {
    const key = line.querySelector(".filter-key").value.trim();
    if (key) found[key] = typed(line.querySelector(".filter-value").value.trim());
  }
  return found;
}

function request() {
  const form = $("search-form");
  const text = $("search-text").value.trim();
  const mode = form.querySelector('input[name="mode"]:checked').value;
  const query = {};
  if (text) query.text = text;
  if (media) query[media.kind] = media.uri;
  return {
    query,
    // A file alone has no words for the keyword side: it is searched by meaning only.
    mode: text ? mode : "dense",
    top_k: Number($("search-topk").value) || 10,
    filter: filters(),
    modality: [...form.querySelectorAll('input[name="modality"]:checked')].map((box) => box.value),
  };
}

async function run() {
  const name = $("search-collection").value;
  const body = request();
  if (!name) { status("Create a collection first (Collections tab).", true); return; }
  if (!Object.keys(body.query).length) { status("Type a query or drop a file.", true); return; }
  await guarded($("search-go"), async () => {
    const started = performance.now();
    const answer = await post(`/v1/collections/${enc(name)}/search`, body);
    render(name, answer.hits);
    status(`${answer.hits.length} results in ${Math.round(performance.now() - started)} ms (${body.mode}).`);
  });
}

function render(name, hits) {
  objectUrls.forEach((url) => URL.revokeObjectURL(url));
  objectUrls = [];
  $("results").replaceChildren(...hits.map((hit) => card(name, hit)));
}

// What a hit says besides its score: metadata, and the text read in an image (OCR).
function details(hit) {
  return { score: hit.score, modality: hit.modality, metadata: hit.metadata, [hit.modality === "text" ? "text" : "ocr_text"]: hit.text ?? undefined };
}

function card(name, hit) {
  const pictured = hit.modality === "image" || hit.modality === "video";
  const body = pictured
    ? h("img", { alt: hit.id, loading: "lazy" })
    : h("span", { class: "snippet" }, hit.text || `(${hit.modality})`);
  const about = JSON.stringify({ metadata: hit.metadata, ...(pictured && hit.text ? { ocr_text: hit.text } : {}) });
  const button = h("button", { type: "button", title: about, onclick: () => open(name, hit, body) },
    body, h("span", { class: "meta" }, h("span", {}, hit.modality), h("span", {}, `score ${hit.score.toFixed(3)}`)),
    h("span", { class: "meta" }, hit.id));
  if (pictured) thumbnail(name, hit.id).then((url) => { if (url) body.src = url; });
  return h("li", { "data-id": hit.id, "data-modality": hit.modality }, button);
}

async function thumbnail(name, id) {
  try {
    const blob = await get(`/v1/collections/${enc(name)}/items/${enc(id)}/thumbnail`);
    const url = URL.createObjectURL(blob);
    objectUrls.push(url);
    return url;
  } catch { return null; }  // an item stored before thumbnails existed: the alt text stands in
}

function open(name, hit, body) {
  opened = { name, hit, src: body.tagName === "IMG" ? body.src : "" };
  $("hit-title").textContent = hit.id;
  $("hit-image").hidden = !opened.src;
  $("hit-image").src = opened.src;
  $("hit-image").alt = opened.src ? hit.id : "";
  $("hit-details").textContent = JSON.stringify(details(hit), null, 2);
  $("hit-similar").hidden = !opened.src && !hit.text;
  $("hit-dialog").showModal();
}

// More like this: a pictured hit's thumbnail (an image or a video's key frame) is the next query; a text's words are.
async function moreLikeThis() {
  $("hit-dialog").close();
  if (!opened.src) {
    await setMedia(null);
    $("search-text").value = opened.hit.text.slice(0, 2000);
    await run();
    return;
  }
  const blob = await (await fetch(opened.src)).blob();
  $("search-text").value = "";
  await setMedia(new File([blob], opened.hit.id, { type: "image/jpeg" }));
}

async function deleteOpened() {
  const { name, hit } = opened;
  if (!confirm(`Delete item "${hit.id}" from ${name}?`)) return;
  await guarded($("hit-delete"), async () => {
    await del(`/v1/collections/${enc(name)}/items/${enc(hit.id)}`);
    $("hit-dialog").close();
    document.querySelector(`#results li[data-id="${CSS.escape(hit.id)}"]`)?.remove();
    status(`Deleted ${hit.id}.`);
  });
}
