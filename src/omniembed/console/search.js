// Search a collection by text and/or an image; results as thumbnails and snippets.
import { collections, del, dropZone, enc, fillSelect, get, guarded, h, post, readAs, status } from "./api.js";

const $ = (id) => document.getElementById(id);
let queryImage = null;  // data URI of the dropped, pasted or chosen image
let objectUrls = [];
let opened = null;  // the hit shown in the dialog

export function init() {
  dropZone($("search-drop"), $("search-file"), (files) => setImage(files[0]));
  document.addEventListener("paste", (event) => {
    if ($("search").hidden) return;
    const file = [...(event.clipboardData?.files || [])].find((f) => f.type.startsWith("image/"));
    if (file) { event.preventDefault(); setImage(file); }
  });
  $("search-clear").addEventListener("click", () => setImage(null));
  $("search-form").addEventListener("submit", (event) => { event.preventDefault(); run(); });
  $("hit-close").addEventListener("click", () => $("hit-dialog").close());
  $("hit-similar").addEventListener("click", moreLikeThis);
  $("hit-delete").addEventListener("click", deleteOpened);
}

export async function show() {
  await guarded(null, async () => fillSelect($("search-collection"), (await collections()).map((c) => c.name)));
}

export function select(name) { $("search-collection").value = name; }

async function setImage(file) {
  if (file && !file.type.startsWith("image/")) { status(`${file.name} is not an image.`, true); return; }
  queryImage = file ? await readAs(file, "dataurl") : null;
  $("search-preview").hidden = !queryImage;
  $("search-preview-img").src = queryImage || "";
  if (queryImage) run();
}

function request() {
  const form = $("search-form");
  const text = $("search-text").value.trim();
  const mode = form.querySelector('input[name="mode"]:checked').value;
  const query = {};
  if (text) query.text = text;
  if (queryImage) query.image = queryImage;
  return {
    query,
    // An image alone has no words for the keyword side: it is searched by meaning only.
    mode: text ? mode : "dense",
    top_k: Number($("search-topk").value) || 10,
    modality: [...form.querySelectorAll('input[name="modality"]:checked')].map((box) => box.value),
  };
}

async function run() {
  const name = $("search-collection").value;
  const body = request();
  if (!name) { status("Create a collection first (Collections tab).", true); return; }
  if (!body.query.text && !body.query.image) { status("Type a query or drop an image.", true); return; }
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

function card(name, hit) {
  const score = hit.score.toFixed(3);
  const body = hit.modality === "image"
    ? h("img", { alt: hit.id, loading: "lazy" })
    : h("span", { class: "snippet" }, hit.text || `(${hit.modality})`);
  const button = h("button", { type: "button", onclick: () => open(name, hit, body) },
    body, h("span", { class: "meta" }, h("span", {}, hit.modality), h("span", {}, `score ${score}`)),
    h("span", { class: "meta" }, hit.id));
  if (hit.modality === "image") thumbnail(name, hit.id).then((url) => { if (url) body.src = url; });
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
  const details = { score: hit.score, modality: hit.modality, metadata: hit.metadata, text: hit.text };
  $("hit-details").textContent = JSON.stringify(details, null, 2);
  $("hit-similar").hidden = !opened.src;
  $("hit-dialog").showModal();
}

async function moreLikeThis() {
  const blob = await (await fetch(opened.src)).blob();
  $("hit-dialog").close();
  await setImage(new File([blob], `${opened.hit.id}.jpg`, { type: "image/jpeg" }));
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
