/**
 * The browser the end-to-end tests drive: Debian's chromium through playwright-core (no
 * browser download), every host but 127.0.0.1 unresolvable, and a guard that records what
 * must never happen on a page of the app: a request to another origin, a Content-Security-
 * Policy violation, an uncaught error. Also the accessibility check (axe-core, injected
 * through the DevTools protocol, so the page's own CSP stays in force) and screenshots.
 */
import type { AxeResults, Result } from "axe-core";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

/** Where screenshots go: outside git (.gitignore), emptied at the start of each run. */
export const OUTPUT_DIR = process.env.E2E_OUTPUT_DIR ?? fileURLToPath(new URL("../e2e-output/", import.meta.url));

/** The browser: $CHROMIUM_PATH, else Debian's chromium, else its headless shell. */
export function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-headless-shell"];
  const found = candidates.find((p): p is string => Boolean(p) && existsSync(p as string));
  if (!found) throw new Error("chromium not found: install it (apt-get install -y chromium) or set CHROMIUM_PATH");
  return found;
}

export async function launch(): Promise<Browser> {
  // Playwright gives each launch a fresh temporary profile (user-data-dir) and adds --headless
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      "--disable-sync",
      // nothing but the app's own server can be reached: a request elsewhere fails (and is recorded)
      "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ],
  });
}

/** What a page of the app must never do; `take()` returns what was seen since the last call. */
export interface Guard {
  take: () => string[];
}

/**
 * Records, for every page of the context: requests to another origin than `origin`, CSP
 * violations (the page's `securitypolicyviolation` events and Chrome's console reports of
 * them), uncaught page errors, and console errors other than the browser's note of an HTTP
 * error answer (a 401 or 404 the app handles is such a note).
 */
export async function guard(context: BrowserContext, origin: string): Promise<Guard> {
  const problems: string[] = [];
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"} (${e.sourceFile}:${e.lineNumber})`);
    });
  });
  context.on("request", (request) => {
    const url = request.url();
    if (!url.startsWith(`${origin}/`) && !url.startsWith("blob:") && !url.startsWith("data:")) {
      problems.push(`request to another origin: ${request.method()} ${url}`);
    }
  });
  const watch = (page: Page) => {
    page.on("pageerror", (error) => problems.push(`uncaught error on ${page.url()}: ${error.message}`));
    page.on("console", (message) => {
      if (message.type() !== "error") return;
      const text = message.text();
      if (/Failed to load resource: the server responded with a status of (401|404)\b/.test(text)) return;
      problems.push(`console error on ${page.url()}: ${text}`);
    });
  };
  context.on("page", watch);
  for (const page of context.pages()) watch(page);
  return {
    take: () => problems.splice(0, problems.length),
  };
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const BLOCKING = new Set(["serious", "critical"]);

function describeViolation(v: Result): string {
  const where = v.nodes
    .slice(0, 5)
    .map((n) => `      ${n.target.join(" ")}: ${n.failureSummary?.split("\n").slice(1).join("; ").trim() ?? ""}`)
    .join("\n");
  const more = v.nodes.length > 5 ? `\n      … and ${v.nodes.length - 5} more` : "";
  return `  [${v.impact}] ${v.id}: ${v.help} (${v.nodes.length} element${v.nodes.length === 1 ? "" : "s"})\n${where}${more}`;
}

/** Every axe violation found on each screen, for the run's summary. */
export const axeLog: { screen: string; violations: string[] }[] = [];

/**
 * Runs axe-core on the page as it is now. Prints every violation; returns those with impact
 * serious or critical (the tests expect none).
 */
export async function axe(page: Page, screen: string): Promise<string[]> {
  const violations = await axeViolations(page);
  const found = violations.map(describeViolation);
  axeLog.push({ screen, violations: found });
  if (found.length) console.log(`axe on ${screen}: ${found.length} violation(s)\n${found.join("\n")}`);
  return violations.filter((v) => BLOCKING.has(v.impact ?? "")).map((v) => `${screen}: ${describeViolation(v)}`);
}

/** axe-core's violations on the page as it is now (every rule axe runs by default). */
export async function axeViolations(page: Page): Promise<Result[]> {
  // evaluated through the DevTools protocol: no <script> tag, so no CSP exemption is needed
  await page.evaluate(axeSource);
  const results = (await page.evaluate(() =>
    (window as unknown as { axe: { run: (context: Document, options: object) => Promise<unknown> } }).axe.run(document, {
      resultTypes: ["violations"],
    }),
  )) as AxeResults;
  return results.violations;
}

/** A screenshot of the page under OUTPUT_DIR (full page unless told otherwise). */
export async function shot(page: Page, name: string, fullPage = true): Promise<void> {
  mkdirSync(OUTPUT_DIR, { recursive: true });
  await page.screenshot({ path: join(OUTPUT_DIR, `${name}.png`), fullPage, animations: "disabled" });
}
