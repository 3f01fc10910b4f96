// The browser side of tests/charts/test_apps.py: real headless Chromium (Debian's, driven by
// playwright-core) opens the test host page, which loads one MCP Apps view in a sandboxed
// iframe and sends it a real tool result over the apps protocol. This script reports what the
// view drew (read from its SVG and table) and takes a screenshot; Python checks the report.
//
// usage: node drive.mjs NODE_MODULES < plan.json   (prints one JSON line)
//   plan: { chromium, base, cases: [{ name, view, toolName, args, result, width, screenshot,
//           zoom? }] }
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [modules] = process.argv.slice(2);
const { chromium } = await import(pathToFileURL(join(modules, "playwright-core/index.mjs")).href);
const plan = JSON.parse(await readStdin());

const browser = await chromium.launch({
  executablePath: plan.chromium,
  args: ["--no-sandbox"], // tests run as root here; Chromium refuses its sandbox as root
});
const reports = [];
try {
  for (const c of plan.cases) reports.push(await run(c));
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(reports) + "\n");

async function run(c) {
  const context = await browser.newContext({ viewport: { width: c.width + 40, height: 900 } });
  context.setDefaultTimeout(30_000);
  const page = await context.newPage();
  const messages = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") messages.push(`${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => messages.push(`pageerror: ${e.message}`));
  const requests = [];
  page.on("request", (r) => requests.push(r.url()));
  await page.goto(plan.base + "/");
  await page.evaluate(
    (c) => window.host.open({ src: c.src, toolName: c.toolName, args: c.args, result: c.result, width: c.width }),
    { ...c, src: `${plan.base}/app/${c.view}` },
  );
  const frame = await until(() => page.frames().find((f) => f !== page.mainFrame()));
  await frame.waitForSelector("body[data-drawn]");
  if (c.zoom) {
    await frame.locator(`#controls input[value="${c.zoom}"]`).check();
    await page.waitForTimeout(300);
  }
  await page.waitForTimeout(200); // the host resizes the frame to the view's new height
  const report = await frame.evaluate(read);
  await page.screenshot({ path: c.screenshot, fullPage: true });
  report.messages = messages;
  report.requests = requests.filter((u) => !u.startsWith(plan.base));
  report.sizes = await page.evaluate(() => window.host.sizes);
  report.name = c.name;
  await context.close();
  return report;
}

// What the view shows, read from the page: marks by their spec names, axes, texts, the table.
function read() {
  const marks = (name) => [...document.querySelectorAll(`#chart g.${name} > *`)];
  const box = (el) => {
    const b = el.getBoundingClientRect();
    return { x: b.x, y: b.y, width: b.width, height: b.height };
  };
  // The labelled ticks of the vertical axis: its labels share one x, unlike the bottom axis's.
  const axisTicks = () => {
    for (const axis of document.querySelectorAll("#chart g.role-axis")) {
      const labels = [...axis.querySelectorAll("g.role-axis-label text")];
      const xs = new Set(labels.map((t) => Math.round(box(t).x + box(t).width)));
      if (labels.length > 1 && xs.size === 1) {
        return labels.map((t) => ({ text: t.textContent, box: box(t) }));
      }
    }
    return [];
  };
  const named = ["point_marks", "latest_mark", "latest_label", "band_mark", "band_label",
    "range_mark", "result_mark", "flag_label", "part_mark", "part_label", "plan_label",
    "sum_label", "med_bar", "med_label", "med_status", "med_start", "cap_veil", "total_rule",
    "message"];
  const out = { marks: {} };
  for (const name of named) {
    out.marks[name] = marks(name).map((el) => ({
      box: box(el),
      text: el.tagName === "text" ? el.textContent : null,
      label: el.getAttribute("aria-label"),
      opacity: el.getAttribute("opacity") || el.getAttribute("fill-opacity"),
    }));
  }
  // Whether the trend's line is cut at the plot's edges (a clip path around it).
  out.lineClipped = [...document.querySelectorAll("#chart g.line")]
    .some((el) => el.closest("[clip-path]") !== null);
  out.ticks = axisTicks();
  out.texts = [...document.querySelectorAll("#chart svg text")].map((t) => t.textContent);
  out.title = document.querySelector("#chart g.role-title-text text")?.textContent ?? null;
  out.summary = document.getElementById("chart").getAttribute("aria-label");
  const table = document.querySelector("#numbers table");
  out.caption = table?.caption?.textContent ?? null;
  out.headings = table ? [...table.tHead.rows[0].cells].map((c) => c.textContent) : [];
  out.rows = table ? [...table.tBodies[0].rows].map((r) => [...r.cells].map((c) => c.textContent)) : [];
  out.scripts = document.scripts.length;
  out.images = document.querySelectorAll("img").length;
  out.documentTitle = document.title;
  out.status = document.getElementById("status").textContent;
  out.svgWidth = document.querySelector("#chart svg")?.getBoundingClientRect().width ?? 0;
  // Text the chart cuts off at its own edges (a legend wider than a phone, say).
  const edge = document.querySelector("#chart svg")?.getBoundingClientRect();
  out.cutText = edge ? [...document.querySelectorAll("#chart svg text")]
    .filter((t) => t.textContent && (box(t).x < edge.left - 1
      || box(t).x + box(t).width > edge.right + 1))
    .map((t) => t.textContent) : [];
  out.scrollWidth = document.documentElement.scrollWidth;
  out.clientWidth = document.documentElement.clientWidth;
  out.origin = String(window.origin);
  out.storage = (() => {
    try {
      return localStorage.length;
    } catch {
      return "denied";
    }
  })();
  return out;
}

async function until(find, timeout = 15_000) {
  const end = Date.now() + timeout;
  for (;;) {
    const found = find();
    if (found) return found;
    if (Date.now() > end) throw new Error("the view's frame never appeared");
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}
