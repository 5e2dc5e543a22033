/**
 * The journey of issue #13 in a real browser against a real `infra-mind serve`: sign up,
 * paste requirements, create, run and watch progress, see the recommendation, charts and
 * line items, try a what-if, ask the chat and get a cited answer, download a report, sign
 * out and back in; another user cannot open the first user's assessment. axe-core checks
 * every screen on the way (no serious or critical violation); screenshots of the main
 * screens go to web/e2e-output/ (not committed).
 *
 * The steps share one browser and one user, in order; after a failed step the rest are
 * skipped (they would only fail for the same reason).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, inject, test, type TestContext } from "vitest";
import { axe, axeLog, axeViolations, guard, launch, OUTPUT_DIR, shot, type Guard } from "./browser";

const origin = inject("apiOrigin");
const PASSWORD = "correct horse battery staple 42";
const EXAMPLE = readFileSync(new URL("../../examples/saas-startup.yaml", import.meta.url), "utf8");
const TITLE = "SaaS startup (B2B project management)";
const WORKLOADS = EXAMPLE.match(/^  - name: /gm)?.length ?? 0;
const tag = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
const ada = { name: "Ada Journey", email: `ada-${tag}@example.com` };

let browser: Browser;
let context: BrowserContext;
let page: Page;
let watch: Guard;
let assessmentUrl = "";
let broken = false;

/** Axe on the page as it is; the test fails on any serious or critical violation. */
async function accessible(screen: string, target: Page = page): Promise<void> {
  expect(await axe(target, screen), `axe: serious or critical violations on ${screen}`).toEqual([]);
}

async function signUp(target: Page, name: string, email: string): Promise<void> {
  await target.getByLabel("Full name").fill(name);
  await target.getByLabel("Email").fill(email);
  await target.getByLabel("Password").fill(PASSWORD);
  await target.getByRole("button", { name: "Create account" }).click();
  await target.waitForURL(`${origin}/assessments`);
  await target.getByRole("heading", { name: "Assessments", level: 1 }).waitFor();
}

/** A test of the journey: skipped once an earlier one failed. */
function step(name: string, body: () => Promise<void>, timeout?: number): void {
  test(
    name,
    async (ctx: TestContext) => {
      if (broken) ctx.skip();
      try {
        await body();
      } catch (error) {
        broken = true;
        await shot(page, `failed-${name.replace(/[^a-z0-9]+/gi, "-").toLowerCase()}`, false).catch(() => undefined);
        throw error;
      }
    },
    timeout,
  );
}

describe.sequential("the journey", () => {
  beforeAll(async () => {
    browser = await launch();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    watch = await guard(context, origin);
    page = await context.newPage();
  });

  afterEach(() => {
    // no request left the app's origin, no CSP violation, no uncaught error
    expect(watch.take()).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    const total = axeLog.reduce((n, s) => n + s.violations.length, 0);
    console.log(
      `axe: ${axeLog.length} screens checked, ${total} violation(s) of any impact in all\n` +
        axeLog.map((s) => `  ${s.screen}: ${s.violations.length ? `${s.violations.length} violation(s), printed above` : "none"}`).join("\n"),
    );
  });

  step("a visitor is sent to sign in, and creates an account (which signs them in)", async () => {
    await page.goto(`${origin}/`);
    await page.waitForURL(`${origin}/signin`);
    await page.getByRole("heading", { name: "Sign in", level: 1 }).waitFor();
    await accessible("sign in");
    await shot(page, "01-sign-in");

    await page.getByLabel("Email").fill(ada.email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: /invalid email or password/i }).waitFor();
    await accessible("sign in, refused");

    await page.getByRole("link", { name: "Create an account" }).click();
    await page.getByRole("heading", { name: "Create your account", level: 1 }).waitFor();
    await accessible("sign up");
    await shot(page, "02-sign-up");
    await signUp(page, ada.name, ada.email);
    await page.getByText(ada.name).waitFor();
    await page.getByText("No assessments yet.").waitFor();
    await accessible("assessments list, empty");

    // the refresh token is an HttpOnly, SameSite=Strict cookie scoped to the auth routes
    const cookies = await context.cookies();
    expect(cookies.map((c) => ({ name: c.name, path: c.path, httpOnly: c.httpOnly, sameSite: c.sameSite }))).toEqual([
      { name: "im_refresh", path: "/api/v1/auth/browser", httpOnly: true, sameSite: "Strict" },
    ]);
    expect(await page.evaluate(() => [localStorage.length, sessionStorage.length])).toEqual([0, 0]);
  });

  step("a reload keeps the session (the cookie)", async () => {
    await page.reload();
    await page.getByRole("heading", { name: "Assessments", level: 1 }).waitFor();
    expect(page.url()).toBe(`${origin}/assessments`);
    await page.getByText(ada.name).waitFor();
  });

  step("new assessment: the guided form, then pasted requirements fill it", async () => {
    await page.getByRole("link", { name: "New assessment" }).click();
    await page.getByRole("heading", { name: "New assessment", level: 1 }).waitFor();
    await page.getByRole("button", { name: "Add workload" }).click();
    await page.getByRole("group", { name: /Workload 1: web-service/ }).waitFor();
    await accessible("new assessment, the form");
    // an empty name is refused beside its field, with a summary that links to it
    await page.getByRole("button", { name: "Create assessment" }).click();
    await page.getByRole("alert").filter({ hasText: /need a change|refused/ }).first().waitFor();
    await accessible("new assessment, the form with errors");
    await shot(page, "03-new-assessment-errors");

    const box = page.getByRole("textbox", { name: "Requirements (YAML or JSON)" });
    await box.fill(EXAMPLE);
    await page.getByRole("status").filter({ hasText: `The form now holds “${TITLE}” with ${WORKLOADS} workloads.` }).waitFor();
    expect(await page.getByRole("textbox", { name: "Assessment name" }).inputValue()).toBe(TITLE);
    await page.getByRole("group", { name: new RegExp(`^Workload ${WORKLOADS}: `) }).waitFor();
    await accessible("new assessment, pasted requirements");
    await shot(page, "04-new-assessment-pasted");

    await page.getByRole("button", { name: "Create assessment" }).click();
    await page.waitForURL(/\/assessments\/[0-9a-f-]{36}$/);
    assessmentUrl = page.url();
    await page.getByRole("heading", { name: TITLE, level: 1 }).waitFor();
    await page.getByText("Not run yet: run it to get priced options.").waitFor();
    await accessible("assessment, not run yet");
  });

  step("run it: the progress shows as it happens, and the results appear without a reload", async () => {
    // remember what the run panel showed while the run was under way (it can be brief)
    await page.evaluate(() => {
      const seen = { progress: [] as string[], statuses: [] as string[], steps: 0, labels: [] as string[] };
      (window as unknown as { __run: typeof seen }).__run = seen;
      const note = () => {
        const bar = document.querySelector('progress[aria-label="Run progress"]');
        if (bar) seen.progress.push(bar.getAttribute("value") ?? "");
        const status = document.querySelector("#run [role=status]")?.textContent ?? "";
        if (status && !seen.statuses.includes(status)) seen.statuses.push(status);
        const items = document.querySelectorAll('#run ol[aria-label="Steps"] li');
        seen.steps = Math.max(seen.steps, items.length);
        for (const li of items) {
          const label = (li.textContent ?? "").replace(/^[✓…]\s*/, "").trim();
          if (!seen.labels.includes(label)) seen.labels.push(label);
        }
      };
      new MutationObserver(note).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
    });
    await page.getByRole("button", { name: "Run", exact: true }).click();
    await page.getByRole("heading", { name: "Recommendation", level: 2 }).waitFor({ timeout: 60_000 });

    // the same document all along: the results came without a reload
    const seen = await page.evaluate(() => (window as unknown as { __run?: { progress: string[]; statuses: string[]; steps: number; labels: string[] } }).__run);
    expect(seen, "the page was reloaded").toBeTruthy();
    console.log("run panel while running:", JSON.stringify(seen));
    expect(seen?.progress.length, "the progress bar was shown").toBeGreaterThan(0);
    expect(seen?.statuses.some((s) => /^(Queued|Running)/.test(s)), "a queued or running status was announced").toBe(true);
    await page.getByRole("status").filter({ hasText: "The run completed." }).waitFor();
    // The server reads a run's status twice a second, and an offline run takes about one:
    // it shows none to two of its steps (a run with a model, one per agent). Those listed
    // while it ran are still listed, none of them left "under way", except the claim
    // ("starting"), which is no step of the work.
    const steps = page.getByRole("list", { name: "Steps" }).getByRole("listitem");
    expect(await steps.count()).toBe(seen?.labels.filter((label) => label !== "starting").length);
    expect(await page.locator("#run").getByText("starting").count(), "the claim is not listed once done").toBe(0);
    expect(await page.locator('#run [aria-current="step"]').count(), "no step left under way").toBe(0);
    expect(await page.getByRole("progressbar", { name: "Run progress" }).count(), "the progress bar went away").toBe(0);

    for (const name of ["Options", "Line items", "Compliance", "Projection"]) {
      await page.getByRole("heading", { name, exact: true, level: 2 }).waitFor();
    }
    for (const name of ["Cost breakdown", "Cost projection"]) {
      const chart = page.getByRole("img", { name, exact: true });
      expect(await chart.count(), `${name} charts`).toBeGreaterThan(0);
      await chart.first().waitFor();
    }
    const headline = await page.locator(".headline").innerText();
    expect(headline).toMatch(/\$[\d,]+(\.\d\d)? a month/);
    const lineItems = page.getByRole("region", { name: /^Line items of / });
    expect(await lineItems.getByRole("row").count(), "line items (with the header row)").toBeGreaterThan(5);
    for (const column of ["Source", "Price date", "Monthly"]) await lineItems.getByRole("columnheader", { name: column }).waitFor();
    // sortable: the monthly column is sorted descending, a click turns it ascending
    const monthly = lineItems.getByRole("columnheader", { name: "Monthly" });
    expect(await monthly.getAttribute("aria-sort")).toBe("descending");
    await monthly.getByRole("button").click();
    expect(await monthly.getAttribute("aria-sort")).toBe("ascending");

    await accessible("assessment results");
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, "05-results-top", false);
    await shot(page, "06-results-full");
  });

  step("a what-if: three times the traffic, and the differences beside the current result", async () => {
    const slider = page.getByRole("slider", { name: "Traffic multiplier" });
    await slider.fill("3");
    expect(await slider.getAttribute("aria-valuetext")).toBe("3 times today's traffic");
    await page.getByRole("button", { name: "Try it" }).click();
    const outcome = page.getByRole("region", { name: "Differences" });
    const line = await outcome.getByRole("status").innerText({ timeout: 30_000 });
    const match = /Monthly cost: (\$[\d,.]+) → (\$[\d,.]+)/.exec(line);
    expect(match, line).not.toBeNull();
    const usd = (s: string) => Number(s.replace(/[$,]/g, ""));
    expect(usd(match?.[2] ?? ""), `three times the traffic costs more: ${line}`).toBeGreaterThan(usd(match?.[1] ?? ""));
    await outcome.getByRole("columnheader", { name: "What-if" }).waitFor();
    await accessible("what-if result");
    await outcome.scrollIntoViewIfNeeded();
    await outcome.screenshot({ path: join(OUTPUT_DIR, "07-what-if.png") });

    // at three times the traffic the projection passes the budget: the full result says
    // what would lower the cost, each change priced by the engine
    await outcome.getByRole("button", { name: "Show the what-if result in full" }).click();
    const levers = outcome.getByRole("region", { name: "What would lower the cost" });
    await levers.getByText("With growth the cost passes the budget").waitFor();
    const rows = levers.getByRole("table").getByRole("row");
    expect(await rows.count(), "budget levers (with the header row)").toBeGreaterThan(2);
    await levers.getByRole("rowheader", { name: /availability target 99.5% instead of 99.9%/ }).waitFor();
    await accessible("what-if result in full, with budget levers");
    await levers.scrollIntoViewIfNeeded();
    await levers.screenshot({ path: join(OUTPUT_DIR, "07b-budget-levers.png") });
    await outcome.getByRole("button", { name: "Hide the what-if result" }).click();
  });

  step("the chat answers a question with its sources", async () => {
    await page.getByRole("textbox", { name: "Ask about this assessment" }).fill("What would this cost on Azure?");
    await page.getByRole("button", { name: "Send" }).click();
    const log = page.getByRole("log", { name: "Conversation" });
    const answer = log.locator(".message-assistant").last();
    await answer.getByRole("list", { name: "Sources" }).waitFor({ timeout: 30_000 });
    const text = await answer.innerText();
    console.log("chat answer:", text.replace(/\s+/g, " ").slice(0, 400));
    expect(text).toMatch(/Azure/);
    expect(text).toMatch(/\$[\d,]+/);
    expect(await answer.getByRole("list", { name: "Sources" }).getByRole("listitem").count()).toBeGreaterThan(0);
    await expect(log.locator(".message-user").last().innerText()).resolves.toContain("What would this cost on Azure?");
    // the log follows the conversation: its end (the answer's sources) is in view
    const view = await log.evaluate((e) => ({ top: e.scrollTop, client: e.clientHeight, height: e.scrollHeight }));
    expect(view.top + view.client, `the log shows its end: ${JSON.stringify(view)}`).toBeGreaterThanOrEqual(view.height - 2);
    await accessible("chat answer");
    await page.locator("#chat").screenshot({ path: join(OUTPUT_DIR, "08-chat.png") });
  });

  step("the reports: read one in the page, download one", async () => {
    await page.getByRole("button", { name: "Read the executive report" }).click();
    const report = page.getByRole("article");
    await report.getByRole("heading", { level: 3 }).waitFor({ timeout: 30_000 });
    await accessible("executive report in the page");

    const downloaded = page.waitForEvent("download");
    await page.getByRole("button", { name: "Download the executive report (Markdown)" }).click();
    const download = await downloaded;
    expect(download.suggestedFilename()).toMatch(/\.md$/);
    const markdown = readFileSync(await download.path(), "utf8");
    expect(markdown).toMatch(/^# /m);
    expect(markdown).toContain(TITLE);
    // the report states the recommendation the page shows
    const cost = /\$[\d,]+(\.\d\d)?/.exec(await page.locator(".headline-cost").innerText())?.[0] ?? "no cost on the page";
    expect(markdown).toContain(cost.replace(/\.00$/, ""));

    const yaml = page.waitForEvent("download");
    await page.getByRole("button", { name: "Download requirements as YAML" }).click();
    const requirements = readFileSync(await (await yaml).path(), "utf8");
    expect(requirements).toContain(`name: ${TITLE}`);
    expect(requirements).toContain("web-api");
  });

  step("the list shows the assessment, its status and cost", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Assessments" }).click();
    const row = page.getByRole("row").filter({ has: page.getByRole("link", { name: TITLE }) });
    await row.waitFor();
    const text = await row.innerText();
    expect(text).toMatch(/Completed/);
    expect(text).toMatch(/\$[\d,]+/);
    await accessible("assessments list");
    await shot(page, "09-assessments");
  });

  step("the catalog compares a machine shape across clouds", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Catalog" }).click();
    await page.getByRole("heading", { name: "Price catalog", level: 1 }).waitFor();
    await accessible("catalog");
    await page.getByRole("button", { name: "Compare prices" }).click();
    const table = page.getByRole("region", { name: "Machine shape prices" });
    await table.waitFor({ timeout: 30_000 });
    expect(await table.getByRole("row").count()).toBeGreaterThan(3);
    await accessible("catalog, compared prices");
    await shot(page, "10-catalog");
  });

  step("settings show the organization and its members", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Settings" }).click();
    const members = page.getByRole("table", { name: /Members of/ });
    await members.waitFor();
    expect(await members.innerText()).toContain(ada.email);
    await accessible("settings");
    await shot(page, "11-settings");
  });

  step("sign out, then back in where the address pointed", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(`${origin}/signin`);
    expect((await context.cookies()).map((c) => c.name)).toEqual([]);
    await page.goto(assessmentUrl);
    await page.getByRole("heading", { name: "Sign in", level: 1 }).waitFor();
    expect(page.url()).toBe(`${origin}/signin?next=${encodeURIComponent(new URL(assessmentUrl).pathname)}`);
    await page.getByLabel("Email").fill(ada.email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(assessmentUrl);
    await page.getByRole("heading", { name: "Recommendation", level: 2 }).waitFor();
    await page.reload();
    await page.getByRole("heading", { name: TITLE, level: 1 }).waitFor();
    await page.getByRole("heading", { name: "Recommendation", level: 2 }).waitFor();
  });

  step("another user opening the first user's assessment address sees it is not there", async () => {
    const other = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const otherWatch = await guard(other, origin);
    try {
      const bob = await other.newPage();
      await bob.goto(`${origin}/signup`);
      await signUp(bob, "Bob Other", `bob-${tag}@example.com`);
      await bob.goto(assessmentUrl);
      await bob.getByRole("heading", { name: "Assessment not available", level: 1 }).waitFor();
      expect(await bob.getByRole("alert").innerText()).toMatch(/not found/i);
      const main = await bob.getByRole("main").innerText();
      expect(main).not.toContain(TITLE);
      expect(await bob.getByRole("heading", { name: "Recommendation" }).count()).toBe(0);
      await accessible("assessment not available", bob);
      await shot(bob, "12-other-user");
      await bob.goto(`${origin}/assessments`);
      await bob.getByText("No assessments yet.").waitFor();
      // a page that does not exist says so too
      await bob.goto(`${origin}/no-such-page`);
      await bob.getByRole("heading", { name: "Page not found", level: 1 }).waitFor();
      await accessible("page not found", bob);
    } finally {
      await other.close();
      expect(otherWatch.take()).toEqual([]);
    }
  });

  step("the checks are not blind: axe sees a nameless button; the guard a CSP violation, a request elsewhere, an uncaught error", async () => {
    const probe = await browser.newContext();
    const probeWatch = await guard(probe, origin);
    try {
      const tab = await probe.newPage();
      await tab.goto(`${origin}/signin`);
      await tab.getByRole("heading", { name: "Sign in", level: 1 }).waitFor();
      const reported = Promise.all([
        tab.waitForEvent("console", (m) => m.text().startsWith("CSP violation")),
        tab.waitForEvent("pageerror", (e) => e.message === "probe"),
      ]);
      await tab.evaluate(() => {
        const style = document.createElement("style"); // inline style: refused by style-src 'self'
        style.textContent = "body { color: red; }";
        document.head.append(style);
        setTimeout(() => {
          throw new Error("probe");
        }, 0);
      });
      await reported;
      await tab.evaluate(() => document.querySelector("form")?.append(document.createElement("button")));
      const found = await axeViolations(tab);
      expect(found.map((v) => `${v.id} ${v.impact}`)).toContain("button-name critical");
      await tab.goto("about:blank"); // not the app: nothing refuses it, but no host resolves
      await tab.evaluate(() => fetch("http://example.com/").catch(() => undefined));
      const seen = probeWatch.take().join("\n");
      expect(seen).toMatch(/CSP violation: style-src/);
      expect(seen).toMatch(/uncaught error .*probe/);
      expect(seen).toMatch(/request to another origin: GET http:\/\/example\.com\//);
    } finally {
      await probe.close();
    }
  });

  step("on a phone: the results, the list and the form fit the screen", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const fits = async (what: string) => {
      const { scroll, client, wide } = await page.evaluate(() => {
        const client = document.documentElement.clientWidth;
        // for the message: the elements reaching furthest right (one of them widens the page)
        const wide = [...document.querySelectorAll<HTMLElement>("body *")]
          .map((e) => ({ e, right: Math.round(e.getBoundingClientRect().right) }))
          .filter((x) => x.right > client)
          .sort((x, y) => y.right - x.right)
          .slice(0, 3)
          .map(({ e, right }) => `${e.tagName.toLowerCase()}${e.className ? `.${String(e.className).trim().split(/\s+/).join(".")}` : ""} (${right} px, ${getComputedStyle(e).position})`);
        return { scroll: document.documentElement.scrollWidth, client, wide };
      });
      expect(scroll, `${what}: the page scrolls sideways on a phone: ${wide.join(", ")}`).toBeLessThanOrEqual(client);
    };
    await page.goto(assessmentUrl);
    await page.getByRole("heading", { name: "Recommendation", level: 2 }).waitFor();
    await page.getByRole("img", { name: "Cost breakdown" }).first().waitFor();
    // the conversation loaded below the results, and the page stayed at its top
    await page.getByRole("log", { name: "Conversation" }).getByRole("list", { name: "Sources" }).waitFor();
    expect(await page.evaluate(() => window.scrollY), "the page opened scrolled down").toBe(0);
    await fits("the results");
    // the charts' words stay readable (they scroll sideways rather than shrink)
    for (const name of ["Cost breakdown", "Cost projection"]) {
      const heights = await page
        .getByRole("img", { name, exact: true })
        .first()
        .evaluate((svg) => [...svg.querySelectorAll("text")].map((t) => t.getBoundingClientRect().height));
      expect(Math.min(...heights), `${name}: the smallest text on a phone, in px`).toBeGreaterThanOrEqual(10);
    }
    await accessible("assessment results, phone");
    await shot(page, "13-phone-results");
    await page.goto(`${origin}/assessments`);
    await page.getByRole("link", { name: TITLE }).waitFor();
    await fits("the list");
    await shot(page, "14-phone-assessments");
    await page.goto(`${origin}/assessments/new`);
    await page.getByRole("heading", { name: "New assessment", level: 1 }).waitFor();
    await fits("the form");
    await accessible("new assessment, phone");
    await shot(page, "15-phone-new-assessment", false);
  });
});
