// The console's shell: API calls (with the API key), page switching, the "Try a task" form and the
// library table. Rendering of results is in render.js, the ROI calculator in roi.js.
"use strict";

// `types` comes from GET /v1/tasks: {type: {label, fields: [{name, label, kind, optional}]}}, in the
// order the page groups them; a field's kind is "text" (a text box), "line" (one line) or "options"
// (typed one per line as "A. text").
const state = { key: "", tasks: [], types: {}, samples: {}, libraryLoaded: false, runs: 0 };

function typeLabel(type) {
  return state.types[type] ? state.types[type].label : type;
}

function typeFields(type) {
  return state.types[type] ? state.types[type].fields : [];
}

function fieldLabel(field) {
  const label = field.kind === "options" ? `${field.label}, one per line as “A. text”` : field.label;
  return field.optional ? `${label} (optional)` : label;
}

function showError(message) {
  const box = document.getElementById("error");
  box.textContent = message;
  box.hidden = false;
}

function clearError() {
  const box = document.getElementById("error");
  box.textContent = "";
  box.hidden = true;
}

// fetch + JSON; any non-2xx answer becomes an Error carrying the server's {"error": "..."} message.
async function api(path, { method = "GET", body } = {}) {
  const headers = {};
  if (state.key) headers["X-API-Key"] = state.key;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new Error(`cannot reach the server (${e.message})`);
  }
  let data = null;
  try {
    data = await response.json();
  } catch (e) {
    data = null;
  }
  if (!response.ok) {
    let message = data && data.error ? data.error : `the server answered HTTP ${response.status}`;
    if (response.status === 401) message += " — type the key in the API key field at the top and press Use key.";
    throw new Error(`${message} (HTTP ${response.status})`);
  }
  return data;
}

// ---- pages ----------------------------------------------------------------------------------------
function showPage(focus) {
  const name = (location.hash || "#try").slice(1);
  const page = ["try", "library", "roi"].includes(name) ? name : "try";
  for (const section of document.querySelectorAll("main > section")) section.hidden = section.dataset.page !== page;
  for (const link of document.querySelectorAll(".tabs a")) {
    if (link.dataset.page === page) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (page === "library" && !state.libraryLoaded) loadLibrary();
  if (focus) {
    const title = document.querySelector(`#page-${page} h1`);
    title.setAttribute("tabindex", "-1");
    title.focus();
  }
}

// ---- try a task -----------------------------------------------------------------------------------
function currentTask() {
  return state.tasks.find((t) => t.name === document.getElementById("task").value);
}

function fillTaskSelect() {
  const select = document.getElementById("task");
  const previous = select.value;
  select.replaceChildren();
  const order = [...Object.keys(state.types), ...state.tasks.map((t) => t.type)];
  for (const type of new Set(order)) {
    const tasks = state.tasks.filter((t) => t.type === type);
    if (!tasks.length) continue;
    select.append(el("optgroup", { label: typeLabel(type) },
      tasks.map((t) => el("option", { value: t.name, text: `${t.name} (${t.method})` }))));
  }
  if (state.tasks.some((t) => t.name === previous)) select.value = previous;
  onTaskChange();
}

function onTaskChange() {
  const task = currentTask();
  const inputs = document.getElementById("inputs");
  const sample = document.getElementById("sample");
  sample.replaceChildren(el("option", { value: "", text: "Type your own, or choose a sample…" }));
  inputs.replaceChildren();
  document.getElementById("task-info").textContent = "";
  if (!task) return;
  document.getElementById("task-info").textContent = `${typeLabel(task.type)} · method ${task.method} · ` +
    `${task.parameters.toLocaleString("en-US")} trainable parameters · prompt length ${task.prompt_length}` +
    (task.depth === "deep" ? " · deep prefix in the KV cache (no prompt prefill)" : "");
  (state.samples[task.type] || []).forEach((s, i) => sample.append(el("option", { value: i, text: s.title })));
  for (const field of typeFields(task.type)) {
    const id = `input-${field.name}`;
    const box = field.kind === "line" ? el("input", { id, name: field.name, type: "text" })
      : el("textarea", { id, name: field.name, rows: field.kind === "options" ? 4 : 5 });
    inputs.append(el("div", { class: "field wide" }, el("label", { for: id, text: fieldLabel(field) }), box));
  }
}

function onSampleChange() {
  const task = currentTask();
  const choice = document.getElementById("sample").value;
  if (!task || choice === "") return;
  const input = state.samples[task.type][Number(choice)].input;
  for (const field of typeFields(task.type)) {
    let value = input[field.name] || "";
    if (field.kind === "options") value = Object.entries(value).map(([k, v]) => `${k}. ${v}`).join("\n");
    document.getElementById(`input-${field.name}`).value = value;
  }
}

function parseOptions(name, text) {
  const options = {};
  text.split("\n").map((line) => line.trim()).filter(Boolean).forEach((line, i) => {
    const m = line.match(/^([A-Za-z0-9]+)\s*[.):]\s*(.+)$/);
    if (!m) throw new Error(`${name}, line ${i + 1}: write it as “B. heparin” (a key, a dot, the option)`);
    options[m[1]] = m[2];
  });
  return options;
}

function readInput(task) {
  const input = {};
  for (const field of typeFields(task.type)) {
    const value = document.getElementById(`input-${field.name}`).value;
    if (field.kind === "options") input[field.name] = parseOptions(field.name, value);
    else if (!(field.optional && !value.trim())) input[field.name] = value;
  }
  return input;
}

async function runTask(event) {
  event.preventDefault();
  clearError();
  const task = currentTask();
  if (!task) return showError("no task to run: the server lists none, or the task list could not be loaded");
  const button = document.getElementById("run");
  button.disabled = true;
  try {
    const input = readInput(task);
    const start = performance.now();
    const pred = await api("/v1/predict", { method: "POST", body: { task: task.name, input } });
    const ms = Math.round(performance.now() - start);
    const meta = document.getElementById("result-meta");
    meta.replaceChildren(el("span", { class: "latency", text: `Latency ${ms} ms` }), " · ",
      el("span", { class: "params", "data-value": task.parameters,
        text: `${task.parameters.toLocaleString("en-US")} trainable parameters` }),
      ` behind this answer (${task.name}, ${task.method}, prompt length ${task.prompt_length})`);
    document.getElementById("result-body").replaceChildren(...renderPrediction(pred, input));
    document.getElementById("result-raw").textContent = pred.generation;
    const result = document.getElementById("result");
    result.dataset.run = String(++state.runs); // answers so far: lets tests (and scripts) wait for a new one
    result.hidden = false;
  } catch (e) {
    showError(e.message);
  } finally {
    button.disabled = false;
  }
}

async function loadTasks() {
  clearError();
  try {
    const [tasks, samples] = await Promise.all([api("/v1/tasks"), api("/v1/samples")]);
    state.tasks = tasks.tasks;
    state.types = tasks.types || {};
    state.samples = samples.samples;
    fillTaskSelect();
    if (!state.tasks.length) showError("the server serves no tasks");
  } catch (e) {
    showError(`could not load the tasks: ${e.message}`);
  }
}

// ---- library --------------------------------------------------------------------------------------
function scoreCell(entry, split) {
  const metrics = (entry.metrics || {})[split];
  if (!metrics) return el("td", { class: "muted", text: "—" });
  const key = entry.primary_metric in metrics ? entry.primary_metric : Object.keys(metrics)[0];
  const all = Object.entries(metrics).map(([k, v]) => `${k}: ${v}`).join(", ");
  const value = metrics[key];
  return el("td", { title: all, "data-split": split },
    `${key} ${typeof value === "number" ? value.toFixed(3) : value}`);
}

function fingerprintCell(fp) {
  if (!fp) return el("td", { class: "muted", text: "—" });
  const sha = fp.embedding_sha256 || "";
  return el("td", { class: "fingerprint", title: JSON.stringify(fp) },
    `${fp.architecture} · d ${fp.hidden_size} · vocab ${fp.vocab_size} · ` +
    `${humanCount(fp.num_parameters)} params · `,
    el("code", { text: `sha256 ${sha.slice(0, 12)}…` }));
}

async function loadLibrary() {
  clearError();
  try {
    const data = await api("/v1/library");
    state.libraryLoaded = true;
    const fp = data.backbone.fingerprint;
    document.getElementById("library-backbone").textContent = `${data.entries.length} tasks on backbone ` +
      `${data.backbone.name} (${fp.architecture}, ${humanCount(fp.num_parameters)} parameters).`;
    const rows = data.entries.map((e) => el("tr", { "data-task": e.task },
      el("th", { scope: "row", text: e.task }), el("td", { text: e.type }),
      el("td", { text: e.depth === "deep" ? `${e.method} (deep)` : e.method }),
      el("td", { class: "num", text: e.prompt_length }),
      el("td", { class: "num", text: Number(e.parameters).toLocaleString("en-US") }),
      scoreCell(e, "dev"), scoreCell(e, "test"), fingerprintCell(e.backbone),
      el("td", { class: "command" }, e.command ? el("code", { text: e.command }) : "not recorded")));
    document.querySelector("#library-table tbody").replaceChildren(...rows);
  } catch (e) {
    showError(`could not load the library: ${e.message}`);
  }
}

async function loadHealth() {
  try {
    const health = await api("/health");
    document.getElementById("backbone-name").textContent = `backbone ${health.backbone} · ${health.tasks} tasks`;
  } catch (e) {
    document.getElementById("backbone-name").textContent = "";
  }
}

function init() {
  document.getElementById("task").addEventListener("change", onTaskChange);
  document.getElementById("sample").addEventListener("change", onSampleChange);
  document.getElementById("try-form").addEventListener("submit", runTask);
  document.getElementById("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.key = document.getElementById("api-key").value.trim();
    state.libraryLoaded = false;
    loadHealth();
    loadTasks().then(() => showPage(false));
  });
  initRoi();
  window.addEventListener("hashchange", () => showPage(true));
  showPage(false);
  loadHealth();
  loadTasks();
}

init();
