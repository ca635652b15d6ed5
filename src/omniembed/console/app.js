// The console's shell: tabs, the API-key dialog, and loading each section when it is shown.
import { apiKey, onUnauthorized, setApiKey, status } from "./api.js";
import * as collections from "./collections.js";
import * as models from "./models.js";
import * as playground from "./playground.js";
import * as search from "./search.js";

const sections = { search, collections, playground, models };
const tabs = [...document.querySelectorAll('[role="tab"]')];
const keyDialog = document.getElementById("key-dialog");
let current = "search";

function show(name) {
  current = name;
  for (const tab of tabs) {
    const selected = tab.getAttribute("aria-controls") === name;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
    document.getElementById(tab.getAttribute("aria-controls")).hidden = !selected;
  }
  for (const [other, section] of Object.entries(sections)) if (other !== name) section.hide?.();
  sections[name].show();
}

tabs.forEach((tab, index) => {
  tab.addEventListener("click", () => show(tab.getAttribute("aria-controls")));
  tab.addEventListener("keydown", (event) => {  // the WAI-ARIA tabs pattern: arrows move between tabs
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    if (!step) return;
    const next = tabs[(index + step + tabs.length) % tabs.length];
    next.focus();
    show(next.getAttribute("aria-controls"));
  });
});

function askForKey() {
  if (keyDialog.open) return;
  document.getElementById("key-input").value = apiKey();
  keyDialog.showModal();
}

onUnauthorized(() => { status("This server needs an API key.", true); askForKey(); });
document.getElementById("key-button").addEventListener("click", askForKey);
document.getElementById("key-form").addEventListener("submit", () => {
  setApiKey(document.getElementById("key-input").value.trim());
  status("API key set for this tab.");
  show(current);
});
document.getElementById("key-forget").addEventListener("click", () => {
  setApiKey("");
  keyDialog.close();
  status("API key forgotten.");
});

for (const section of Object.values(sections)) section.init({ show });
show("search");
