// Prints what the first load of the built app costs: the JavaScript index.html loads (its
// module script, modulepreload links and everything they import statically), gzipped, and the
// CSS beside it. Exits 1 when the JavaScript passes the budget (300 KiB gzipped).
import { readFileSync, existsSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const BUDGET_BYTES = 300 * 1024;
const dist = fileURLToPath(new URL("../dist/", import.meta.url));
if (!existsSync(join(dist, "index.html"))) {
  console.error("web/dist/index.html is missing: run `npm run build` first");
  process.exit(1);
}
const html = readFileSync(join(dist, "index.html"), "utf8");
const local = (href) => normalize(join(dist, href.replace(/^\//, "")));
const entries = [
  ...html.matchAll(/<script[^>]*type="module"[^>]*src="([^"]+)"/g),
  ...html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+)"/g),
].map((m) => local(m[1]));
const css = [...html.matchAll(/<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"/g)].map((m) => local(m[1]));

// static imports only: `import ... from "./x.js"`, `import "./x.js"`, `export ... from "./x.js"`
const STATIC = /(?:^|[;\s}])(?:import|export)\s*(?:[\w*{}\s,$]*?\s*from\s*)?["'](\.{1,2}\/[^"']+\.js)["']/g;
const seen = new Set();
const walk = (file) => {
  if (seen.has(file)) return;
  seen.add(file);
  const code = readFileSync(file, "utf8");
  for (const m of code.matchAll(STATIC)) walk(normalize(join(dirname(file), m[1])));
};
entries.forEach(walk);

const gz = (file) => gzipSync(readFileSync(file), { level: 9 }).length;
const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
let js = 0;
console.log("First load (gzipped):");
for (const file of seen) {
  const size = gz(file);
  js += size;
  console.log(`  ${file.slice(dist.length)}  ${kb(size)}`);
}
let styles = 0;
for (const file of css) {
  const size = gz(file);
  styles += size;
  console.log(`  ${file.slice(dist.length)}  ${kb(size)}`);
}
console.log(`JavaScript: ${kb(js)} of the ${kb(BUDGET_BYTES)} budget; CSS: ${kb(styles)}`);
if (js > BUDGET_BYTES) {
  console.error(`over budget by ${kb(js - BUDGET_BYTES)}`);
  process.exit(1);
}
