// Calls to the server's public API, with the key the user gave (this tab's session storage only).
const KEY = "omniembed.apiKey";
let unauthorized = () => {};

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

export const apiKey = () => sessionStorage.getItem(KEY) || "";
export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY, key); else sessionStorage.removeItem(KEY);
}
export function onUnauthorized(handler) { unauthorized = handler; }

export async function call(method, path, body) {
  const headers = {};
  const key = apiKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status === 401) unauthorized();
  const type = response.headers.get("content-type") || "";
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    if (type.includes("json")) {
      const error = await response.json();
      message = error?.error?.message || error?.message || message;
    }
    throw new ApiError(response.status, message);
  }
  if (type.includes("json")) return response.json();
  if (type.startsWith("image/")) return response.blob();
  return response.text();
}

export const get = (path) => call("GET", path);
export const post = (path, body) => call("POST", path, body);
export const del = (path) => call("DELETE", path);
export const enc = encodeURIComponent;

export function readAs(file, how) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    if (how === "text") reader.readAsText(file); else reader.readAsDataURL(file);
  });
}

// One element with children, built node by node: every server string lands as text, never markup.
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "class") element.className = value;
    else if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (value !== false && value !== undefined && value !== null) element.setAttribute(name, value === true ? "" : value);
  }
  element.append(...children.flat().filter((child) => child !== null && child !== undefined));
  return element;
}

let statusTimer;
export function status(message, isError = false) {
  const line = document.getElementById("status");
  line.textContent = message;
  line.classList.toggle("error", isError);
  clearTimeout(statusTimer);
  if (message && !isError) statusTimer = setTimeout(() => { line.textContent = ""; }, 6000);
}

export async function guarded(button, work) {
  if (button) button.disabled = true;
  try { return await work(); } catch (error) {
    status(error instanceof ApiError ? error.message : String(error), true);
    return undefined;
  } finally { if (button) button.disabled = false; }
}

// Where a file sat in a dropped or chosen folder ("trip/cat.jpg"); a lone file's name otherwise.
const paths = new WeakMap();
export const pathOf = (file) => paths.get(file) || file.webkitRelativePath || file.name;

// Every file under a dropped entry: folders are walked (readEntries answers in batches of 100).
async function walk(entry) {
  if (entry.isFile) {
    const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
    paths.set(file, entry.fullPath.replace(/^\//, ""));
    return [file];
  }
  const reader = entry.createReader();
  const found = [];
  for (;;) {
    const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
    if (!batch.length) return found;
    for (const child of batch) if (!child.name.startsWith(".")) found.push(...await walk(child));
  }
}

async function dropped(transfer) {
  const entries = [...(transfer?.items || [])].map((item) => item.webkitGetAsEntry?.()).filter(Boolean);
  if (!entries.some((entry) => entry.isDirectory)) return [...(transfer?.files || [])];
  return (await Promise.all(entries.map(walk))).flat();
}

// A drop zone: drag and drop (folders too), its file inputs (keyboard and click).
export function dropZone(zone, inputs, onFiles) {
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", async (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    const files = await dropped(event.dataTransfer);
    if (files.length) onFiles(files);
  });
  for (const input of [inputs].flat()) {
    input.addEventListener("change", () => { if (input.files.length) onFiles([...input.files]); input.value = ""; });
  }
}

// The kind of item a file becomes: its media type, or its extension for text files.
export function kindOf(file) {
  const kind = file.type.split("/")[0];
  if (["image", "video", "audio"].includes(kind)) return kind;
  return kind === "text" || /\.(txt|md|csv|json|tsv|html?|xml|ya?ml|log|rst)$/i.test(file.name) ? "text" : null;
}

// A POST whose upload progress is reported (fetch cannot tell how much of a body was sent).
export function postWithProgress(path, body, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", path);
    request.setRequestHeader("Content-Type", "application/json");
    if (apiKey()) request.setRequestHeader("Authorization", `Bearer ${apiKey()}`);
    request.upload.onprogress = (event) => { if (event.lengthComputable) onProgress(event.loaded / event.total); };
    request.onerror = () => reject(new ApiError(0, "the server could not be reached"));
    request.onload = () => {
      let answer = null;
      try { answer = JSON.parse(request.responseText); } catch { /* not JSON: the status line says it */ }
      if (request.status === 401) unauthorized();
      if (request.status >= 200 && request.status < 300) resolve(answer);
      else reject(new ApiError(request.status, answer?.error?.message || `${request.status} ${request.statusText}`));
    };
    request.send(JSON.stringify(body));
  });
}

export function bytes(count) {
  if (count === null || count === undefined) return "—";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = count;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return `${unit ? value.toFixed(1) : value} ${units[unit]}`;
}

export async function models() { return (await get("/v1/models")).data; }
export async function collections() { return (await get("/v1/collections")).data; }

export function fillSelect(select, values, keep = true) {
  const previous = select.value;
  select.replaceChildren(...values.map((value) => h("option", { value }, value)));
  if (keep && values.includes(previous)) select.value = previous;
}
