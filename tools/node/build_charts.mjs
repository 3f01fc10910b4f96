// Build the MCP Apps views of healthlocker's charts from npm packages (run from tools/node,
// after `npm ci`; scripts/build-charts does both):
//
//   node build_charts.mjs                 tools/charts/frame.js → src/healthlocker/charts/apps/charts.js
//   node build_charts.mjs --check         fail if the committed charts.js differs from a fresh build
//   node build_charts.mjs --harness FILE  the test host (ext-apps' AppBridge) for tests/charts
//
// The frame's script is one minified ES module (ext-apps' App, the parts of vega the charts
// use, vega-interpreter) written to apps/charts.js; apps/shell.html (not built: edited in
// place) is the page it goes into.
// healthlocker.charts.html() puts the two and the chart's spec together. zod's error messages
// in 40-odd languages are left out (English only): the frame never shows them.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const apps = join(root, "src", "healthlocker", "charts", "apps");
const sources = join(root, "tools", "charts");

const englishOnly = {
  name: "zod-english-only",
  setup(build) {
    build.onResolve({ filter: /locales\/index\.js$/ }, (args) =>
      args.importer.includes(`${"/"}zod${"/"}`) ? { path: args.importer, namespace: "zod-locales" } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "zod-locales" }, (args) => ({
      contents: `export { default as en } from "./en.js";`,
      resolveDir: join(dirname(args.path), "..", "locales"),
    }));
  },
};

async function bundle(entry, extra = {}) {
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: "esm",
    target: "es2022",
    legalComments: "none",
    write: false,
    nodePaths: [join(here, "node_modules")],
    plugins: [englishOnly],
    logLevel: "warning",
    ...extra,
  });
  return result.outputFiles[0].text;
}

async function frame() {
  return { "charts.js": await bundle(join(sources, "frame.js")) };
}

const [mode, out] = process.argv.slice(2);
if (mode === "--harness") {
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, await bundle(join(root, "tests", "charts", "host.js")));
} else {
  const built = await frame();
  const stale = [];
  for (const [name, text] of Object.entries(built)) {
    const path = join(apps, name);
    if (mode === "--check") {
      let now = null;
      try {
        now = readFileSync(path, "utf8");
      } catch {}
      if (now !== text) stale.push(name);
    } else {
      mkdirSync(apps, { recursive: true });
      writeFileSync(path, text);
    }
  }
  if (stale.length) {
    console.error(`stale: ${stale.join(", ")}; run scripts/build-charts and commit the result`);
    process.exit(1);
  }
  const shell = readFileSync(join(apps, "shell.html"), "utf8");
  const gz = gzipSync(built["charts.js"] + shell, { level: 9 }).length;
  console.error(`charts.js ${built["charts.js"].length} bytes, page ${gz} bytes gzipped`);
}
