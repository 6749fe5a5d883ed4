// Result rendering for the "Try a task" page, one function per task type. DOM is built with
// textContent only (never innerHTML), so clinical text and model output cannot inject markup.
"use strict";

// Light backgrounds, each >= 7:1 contrast with the #111 text drawn on them.
const ENTITY_PALETTE = ["#ffd8a8", "#b2f2bb", "#a5d8ff", "#fcc2d7", "#d0bfff", "#ffec99", "#99e9f2",
                        "#e9ecef", "#c0eb75", "#ffc9c9"];
const entityColours = new Map(); // entity type -> colour, stable for the session

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function entityColour(type) {
  const key = type.toLowerCase();
  if (!entityColours.has(key)) entityColours.set(key, ENTITY_PALETTE[entityColours.size % ENTITY_PALETTE.length]);
  return entityColours.get(key);
}

// The text with each located entity wrapped in <mark>; overlapping spans keep the earlier one.
function highlightedText(text, entities) {
  const located = entities.filter((e) => Number.isInteger(e.start) && Number.isInteger(e.end))
    .sort((a, b) => a.start - b.start || b.end - a.end);
  const out = el("p", { class: "highlighted" });
  let at = 0;
  for (const ent of located) {
    if (ent.start < at) continue;
    out.append(text.slice(at, ent.start));
    const mark = el("mark", { class: "ent", "data-type": ent.type },
      text.slice(ent.start, ent.end), el("span", { class: "ent-type", text: ent.type }));
    mark.style.backgroundColor = entityColour(ent.type);
    out.append(mark);
    at = ent.end;
  }
  out.append(text.slice(at));
  return out;
}

function legend(entities) {
  const counts = new Map();
  for (const ent of entities) counts.set(ent.type, (counts.get(ent.type) || 0) + 1);
  const list = el("ul", { class: "legend", "aria-label": "Entity types" });
  for (const [type, n] of counts) {
    const swatch = el("span", { class: "swatch", "aria-hidden": "true" });
    swatch.style.backgroundColor = entityColour(type);
    list.append(el("li", { "data-type": type }, swatch, `${type} (${n})`));
  }
  return list;
}

function renderNer(pred, input) {
  const entities = pred.entities || [];
  if (!entities.length) return [el("p", { class: "empty", text: "No entities found." })];
  const parts = [highlightedText(input.text, entities), legend(entities)];
  const unplaced = entities.filter((e) => !Number.isInteger(e.start));
  if (unplaced.length) {
    parts.push(el("p", { class: "muted" }, "Named but not found verbatim in the text: ",
      unplaced.map((e) => `${e.type}: ${e.text}`).join("; ")));
  }
  return parts;
}

function renderRelations(pred) {
  const relations = pred.relations || [];
  if (!relations.length) return [el("p", { class: "empty", text: "No relations found." })];
  const rows = relations.map((r) => el("tr", { class: "relation" },
    el("td", { class: "head", text: r.head.text }),
    el("td", { class: "rel-type" }, el("span", { "aria-hidden": "true", text: "→ " }), r.type,
      el("span", { "aria-hidden": "true", text: " →" })),
    el("td", { class: "tail", text: r.tail.text })));
  return [el("table", { class: "relations" },
    el("caption", { text: "Relations: head → type → tail" }),
    el("thead", {}, el("tr", {}, ["Head", "Relation", "Tail"].map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, rows))];
}

function renderNli(pred, input) {
  const label = pred.label || "";
  return [
    el("dl", { class: "pair" }, el("dt", { text: "Premise" }), el("dd", { text: input.premise }),
      el("dt", { text: "Hypothesis" }), el("dd", { text: input.hypothesis })),
    el("p", {}, "Label: ", el("strong", { class: `label nli-${label || "none"}`, id: "nli-label",
      text: label || "no label (the answer named none of entailment, contradiction, neutral)" })),
  ];
}

function renderMcqa(pred, input) {
  const list = el("ol", { class: "options" });
  for (const [key, text] of Object.entries(input.options)) {
    const chosen = key === pred.answer;
    list.append(el("li", { class: chosen ? "option chosen" : "option", "data-key": key,
      "aria-current": chosen ? "true" : null },
    el("span", { class: "key", text: `${key}.` }), ` ${text}`,
    chosen ? el("span", { class: "tick", text: " ✓ chosen" }) : null));
  }
  const note = pred.answer ? `Chosen option: ${pred.answer}`
    : "No option chosen (the answer named none of the options).";
  return [el("p", { class: "question", text: input.question }), list, el("p", { class: "answer-line", text: note })];
}

function renderQa(pred, input) {
  return [
    el("dl", { class: "pair" }, el("dt", { text: "Question" }), el("dd", { text: input.question })),
    el("p", {}, "Answer: ", el("strong", { class: "answer", text: pred.answer || "(empty)" })),
  ];
}

function renderSummary(pred, input) {
  return [el("div", { class: "side-by-side" },
    el("figure", {}, el("figcaption", { text: "Source" }), el("p", { class: "source", text: input.text })),
    el("figure", {}, el("figcaption", { text: "Summary" }),
      el("p", { class: "summary", text: pred.summary || "(empty)" })))];
}

const RENDERERS = { ner: renderNer, re: renderRelations, nli: renderNli, mcqa: renderMcqa, qa: renderQa,
                    summarization: renderSummary };

function renderPrediction(pred, input) {
  const render = RENDERERS[pred.type];
  return render ? render(pred, input) : [el("pre", { text: JSON.stringify(pred, null, 2) })];
}
