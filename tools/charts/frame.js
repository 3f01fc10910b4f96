// The MCP Apps view of every healthlocker chart, in the host's sandboxed frame.
//
// The page carries its chart's Vega spec (JSON in #chart-spec, from healthlocker.charts) and
// this script; the data arrives only as the tool result's structured content over the apps
// protocol. It becomes the one row of the spec's "view" dataset, exactly as for the PNG. Vega
// draws SVG whose text is text nodes, the table below is built with textContent, expressions
// run in vega-interpreter (no eval), and nothing is stored: no storage, cookies or requests.
import { App } from "@modelcontextprotocol/ext-apps";
import { extend } from "vega-util";
import { transforms } from "vega-dataflow";
import * as tx from "vega-transforms";
import * as vtx from "vega-view-transforms";
import * as encode from "vega-encode";
import { parse } from "vega-parser";
import { View } from "vega-view";
import { expressionInterpreter } from "vega-interpreter";

// Only the transforms the charts use (vega's own index also loads geo, force, hierarchy, …).
extend(transforms, tx, vtx, encode);

const template = JSON.parse(document.getElementById("chart-spec").textContent);
const figure = document.getElementById("chart");
const controls = document.getElementById("controls");
const status = document.getElementById("status");
const details = document.getElementById("numbers");
let view = null;
let drawn = 0;

const app = new App({ name: "healthlocker-charts", version: "1" }, {}, { autoResize: true });
app.ontoolinput = () => say("Drawing…");
app.ontoolresult = (result) => {
  if (result.isError || !result.structuredContent) {
    clear();
    say("Nothing to draw: the tool returned no results.");
    return;
  }
  draw(result.structuredContent).catch((err) => {
    clear();
    say("The chart could not be drawn.");
    console.error(`healthlocker chart: ${err && err.message}`);
  });
};
app.ontoolcancelled = () => say("The tool call was cancelled.");
app.onteardown = async () => {
  clear();
  return {};
};
new ResizeObserver(() => {
  if (view && Math.abs(view.width() - width()) > 1) view.width(width()).runAsync();
}).observe(figure);
await app.connect();

function width() {
  return Math.max(280, Math.floor(figure.clientWidth));
}

async function draw(content) {
  clear();
  const spec = structuredClone(template);
  spec.data[0] = { name: "view", values: [content] };
  spec.width = width();
  view = new View(parse(spec, null, { ast: true }), {
    expr: expressionInterpreter,
    renderer: "svg",
    container: figure,
    bind: controls,
    hover: true,
  });
  view.signal("tabulate", true);
  await view.runAsync();
  figure.setAttribute("aria-label", view.signal("summary"));
  table(view);
  say("");
  drawn += 1;
  document.body.dataset.drawn = String(drawn);
}

function table(v) {
  const headings = v.signal("columns");
  const shown = headings.map((h, i) => (h ? i : -1)).filter((i) => i >= 0);
  const rows = v.data("table");
  const el = document.createElement("table");
  el.createCaption().textContent = v.signal("caption");
  const head = el.createTHead().insertRow();
  for (const i of shown) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = headings[i];
    head.append(th);
  }
  const body = el.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    for (const i of shown) tr.insertCell().textContent = cell(row[`c${i}`]);
  }
  details.querySelector("table")?.remove();
  details.append(el);
  details.hidden = false;
}

function cell(value) {
  return value === null || value === undefined ? "" : String(value);
}

function clear() {
  if (view) view.finalize();
  view = null;
  figure.replaceChildren();
  controls.replaceChildren();
  details.querySelector("table")?.remove();
  details.hidden = true;
}

function say(text) {
  status.textContent = text;
  status.hidden = !text;
}
