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

// A drop zone: drag and drop, its file input (keyboard and click), and optionally paste.
export function dropZone(zone, input, onFiles) {
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    const files = [...(event.dataTransfer?.files || [])];
    if (files.length) onFiles(files);
  });
  input.addEventListener("change", () => { if (input.files.length) onFiles([...input.files]); input.value = ""; });
}

export async function models() { return (await get("/v1/models")).data; }
export async function collections() { return (await get("/v1/collections")).data; }

export function fillSelect(select, values, keep = true) {
  const previous = select.value;
  select.replaceChildren(...values.map((value) => h("option", { value }, value)));
  if (keep && values.includes(previous)) select.value = previous;
}
