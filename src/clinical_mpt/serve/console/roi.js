// The ROI calculator page: form -> POST /v1/roi (the same compute_roi as `clinical-mpt roi --json`)
// -> a table (formatted like the CLI table, exact numbers in data-value/title) and an SVG bar chart.
"use strict";

const ROI_METHODS = ["mpt", "pt", "lora", "full"];
const METHOD_COLOURS = { mpt: "#1f6fb2", pt: "#7b4fa6", lora: "#a65300", full: "#5a646b" };
const SVG_NS = "http://www.w3.org/2000/svg";

// Ports of clinical_mpt.roi.human_count / human_bytes / human_percent (same units and digits).
function humanCount(n) {
  for (const [div, unit] of [[1e12, "T"], [1e9, "B"], [1e6, "M"], [1e3, "K"]]) {
    if (Math.abs(n) >= div) return (n / div).toFixed(2) + unit;
  }
  return n.toFixed(0);
}

function humanBytes(n) {
  for (const [div, unit] of [[1e12, "TB"], [1e9, "GB"], [1e6, "MB"], [1e3, "KB"]]) {
    if (Math.abs(n) >= div) return `${(n / div).toFixed(1)} ${unit}`;
  }
  return `${n.toFixed(0)} B`;
}

function humanPercent(fraction) {
  const pct = fraction * 100;
  if (pct >= 1 || pct === 0) return pct.toFixed(1) + "%";
  return pct.toFixed(1 - Math.floor(Math.log10(pct))) + "%";
}

function money(x, digits) {
  return x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function methodLabel(key, inputs) {
  const targets = inputs.lora_targets.map((t) => t.replace("_proj", "")).join(",");
  return { mpt: `MPT (rank ${inputs.rank})`, pt: "Prompt tuning", lora: `LoRA (r=${inputs.lora_rank}; ${targets})`,
           full: "Full fine-tuning" }[key];
}

// [header, result key, formatter]; the cost columns only when a price (and a request rate) is given.
function roiColumns(inputs) {
  const cols = [
    ["Trainable / task", "trainable_parameters_per_task", humanCount],
    ["% of backbone", "trainable_fraction", humanPercent],
    ["Storage / task", "storage_bytes_per_task", humanBytes],
    [`Storage (${inputs.n_tasks} tasks)`, "storage_bytes_total", humanBytes],
    ["Backbone copies", "backbone_copies", String],
    ["Serving memory", "serving_memory_bytes", humanBytes],
    ["GPUs to serve", "serving_gpus", String],
    ["Training memory", "training_memory_bytes", humanBytes],
    ["GPUs to train", "training_gpus", String],
  ];
  if (inputs.gpu_price_per_hour !== null) cols.push(["Cost / day", "serving_cost_per_day", (x) => money(x, 2)]);
  if (inputs.gpu_price_per_hour !== null && inputs.requests_per_day) {
    cols.push(["Cost / 1k requests", "serving_cost_per_1k_requests", (x) => money(x, 4)]);
  }
  return cols;
}

// The deep variants (per-layer K/V prefixes: pt's is prefix, mpt's deep-mpt) in one sentence.
function deepSummary(methods) {
  const prefix = methods.pt.deep, deepMpt = methods.mpt.deep;
  return `Deep prompts: prefix ${humanBytes(prefix.storage_bytes_per_task)} per task, deep-mpt ` +
    `${humanBytes(deepMpt.storage_bytes_per_task)} per task; served, each is ` +
    `${humanBytes(prefix.served_kv_bytes_per_task)} of K/V in the cache, with no prompt prefill.`;
}

function renderRoiTable(result) {
  const table = document.getElementById("roi-table");
  const cols = roiColumns(result.inputs);
  table.tHead.replaceChildren(el("tr", {}, el("th", { scope: "col", text: "Method" }),
    cols.map(([header]) => el("th", { scope: "col", text: header }))));
  table.tBodies[0].replaceChildren(...ROI_METHODS.map((m) => el("tr", { "data-method": m },
    el("th", { scope: "row", text: methodLabel(m, result.inputs) }),
    cols.map(([, key, fmt]) => {
      const value = result.methods[m][key];
      return el("td", { "data-key": key, "data-value": JSON.stringify(value), title: String(value),
        text: fmt(value) });
    }))));
}

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

// Bar lengths in [0, 1]: log10 between the decades around the values, or linear from 0.
function barScale(values, log) {
  if (!log) {
    const max = Math.max(...values, 0);
    return (v) => (max > 0 ? v / max : 0);
  }
  const positive = values.filter((v) => v > 0);
  const lo = Math.floor(Math.log10(Math.min(...positive))) - 1;
  const hi = Math.max(Math.ceil(Math.log10(Math.max(...positive))), lo + 1);
  return (v) => (v > 0 ? (Math.log10(v) - lo) / (hi - lo) : 0);
}

function chartPanel(title, values, fmt, log, y, width) {
  const group = svg("g", { transform: `translate(0, ${y})`, class: "panel" });
  group.append(svg("text", { x: 0, y: 14, class: "chart-title" }, title + (log ? " (log scale)" : "")));
  const scale = barScale(ROI_METHODS.map((m) => values[m]), log);
  const left = 150, room = width - left - 90;
  ROI_METHODS.forEach((m, i) => {
    const top = 24 + i * 24, len = Math.max(values[m] > 0 ? 2 : 0, scale(values[m]) * room);
    group.append(svg("text", { x: left - 8, y: top + 14, "text-anchor": "end", class: "chart-label" },
      { mpt: "MPT", pt: "Prompt tuning", lora: "LoRA", full: "Full fine-tuning" }[m]));
    const bar = svg("rect", { x: left, y: top + 2, width: len.toFixed(1), height: 16, fill: METHOD_COLOURS[m],
      "data-method": m });
    bar.append(svg("title", {}, `${m}: ${fmt(values[m])}`));
    group.append(bar, svg("text", { x: left + len + 6, y: top + 14, class: "chart-value" }, fmt(values[m])));
  });
  return group;
}

function renderRoiChart(result) {
  const width = 640, panelHeight = 130, m = result.methods, n = result.inputs.n_tasks;
  const pick = (key) => Object.fromEntries(ROI_METHODS.map((k) => [k, m[k][key]]));
  const panels = [
    ["Trainable parameters per task", pick("trainable_parameters_per_task"), humanCount, true],
    [`Storage for ${n} tasks`, pick("storage_bytes_total"), humanBytes, true],
    [`GPUs to serve all ${n} tasks`, pick("serving_gpus"), String, false],
  ];
  if (result.inputs.gpu_price_per_hour !== null) {
    panels.push(["Serving cost per day", pick("serving_cost_per_day"), (x) => money(x, 2), false]);
  }
  const chart = svg("svg", { viewBox: `0 0 ${width} ${panels.length * panelHeight}`, role: "img",
    "aria-labelledby": "roi-chart-title", class: "chart" });
  chart.append(svg("title", { id: "roi-chart-title" },
    "Bar chart comparing MPT, prompt tuning, LoRA and full fine-tuning: " + panels.map((p) => p[0]).join(", ")));
  panels.forEach(([title, values, fmt, log], i) => {
    chart.append(chartPanel(title, values, fmt, log, i * panelHeight, width));
  });
  document.getElementById("roi-chart").replaceChildren(chart);
}

function roiCommand(body, fileName) {
  const flags = [["--backbone", body.backbone_config ? (fileName || "config.json") : body.backbone],
    ["--tasks", body.n_tasks], ["--prompt-length", body.prompt_length], ["--rank", body.rank],
    ["--lora-rank", body.lora_rank], ["--lora-targets", body.lora_targets], ["--dtype-bytes", body.dtype_bytes],
    ["--batch-size", body.batch_size], ["--seq-len", body.seq_len], ["--requests-per-day", body.requests_per_day],
    ["--gpu-price-per-hour", body.gpu_price_per_hour], ["--gpu-memory-gb", body.gpu_memory_gb]];
  return "clinical-mpt roi " + flags.filter(([, v]) => v !== null).map(([f, v]) => `${f} ${v}`).join(" ") + " --json";
}

function numberField(id) {
  const value = document.getElementById(id).value.trim();
  return value === "" ? null : Number(value);
}

async function roiBody() {
  const choice = document.getElementById("roi-backbone").value;
  const body = {
    backbone: choice === "local" ? "local" : choice, n_tasks: numberField("roi-tasks"),
    prompt_length: numberField("roi-prompt-length"), rank: numberField("roi-rank"),
    lora_rank: numberField("roi-lora-rank"), lora_targets: document.getElementById("roi-lora-targets").value,
    dtype_bytes: Number(document.getElementById("roi-dtype").value), batch_size: numberField("roi-batch"),
    seq_len: numberField("roi-seq"), requests_per_day: numberField("roi-requests"),
    gpu_price_per_hour: numberField("roi-price"), gpu_memory_gb: numberField("roi-gpu-mem"),
  };
  if (choice === "local") {
    const file = document.getElementById("roi-config").files[0];
    if (!file) throw new Error("choose the model's config.json file, or pick a built-in backbone");
    try {
      body.backbone_config = JSON.parse(await file.text());
    } catch (e) {
      throw new Error(`${file.name}: not valid JSON (${e.message})`);
    }
  }
  return body;
}

async function runRoi(event) {
  event.preventDefault();
  clearError();
  const button = document.getElementById("roi-run");
  button.disabled = true;
  try {
    const body = await roiBody();
    const result = await api("/v1/roi", { method: "POST", body });
    const b = result.backbone;
    document.getElementById("roi-summary").textContent = `${b.name} (${b.architecture}): ` +
      `${humanCount(b.total_parameters)} parameters; ${result.inputs.n_tasks} tasks, prompt length ` +
      `${result.inputs.prompt_length}, ${result.inputs.gpu_memory_gb} GB GPUs. ` + deepSummary(result.methods);
    renderRoiTable(result);
    renderRoiChart(result);
    const file = document.getElementById("roi-config").files[0];
    document.getElementById("roi-command").textContent = roiCommand(body, file && file.name);
    document.getElementById("roi-result").hidden = false;
  } catch (e) {
    showError(e.message);
  } finally {
    button.disabled = false;
  }
}

function initRoi() {
  document.getElementById("roi-form").addEventListener("submit", runRoi);
  document.getElementById("roi-backbone").addEventListener("change", (e) => {
    document.getElementById("roi-config-field").hidden = e.target.value !== "local";
  });
}
