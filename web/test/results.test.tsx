import { fireEvent, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { asResult, type AssessmentResult } from "../src/api/types";
import { breakdown, CostBreakdownChart, labelWidth, niceTicks, OTHER_PART } from "../src/features/results/charts";
import { shortSource } from "../src/features/results/LineItems";
import { ResultsView } from "../src/features/results/ResultsView";
import { money } from "../src/lib/format";
import { completedAssessment, example, signedInUser, signedOut } from "./helpers";

let result: AssessmentResult;

beforeAll(async () => {
  await signedInUser();
  // eu-fintech: two frameworks (GDPR, PCI DSS) and derived prices in its options
  const { result: stored } = await completedAssessment(example("eu-fintech").doc);
  result = asResult(stored.result);
});
afterAll(signedOut);

const rowsOf = (table: HTMLElement) => within(table).getAllByRole("row").slice(1) as HTMLTableRowElement[];

describe("the results view", () => {
  test("has its headings, the recommendation and both charts by name", () => {
    render(<ResultsView result={result} />);
    for (const name of ["Recommendation", "Options", "Line items", "Compliance", "Projection", "Commitments", "Well-Architected review", "Warnings and unpriced items"]) {
      expect(screen.getByRole("heading", { level: 2, name })).toBeInTheDocument();
    }
    const recommended = result.recommended!;
    const section = screen.getByRole("region", { name: "Recommendation" });
    expect(section).toHaveTextContent(recommended.region);
    expect(section).toHaveTextContent(`$${recommended.monthly_cost_usd.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`);
    for (const reason of recommended.reasons) expect(within(section).getByText(reason)).toBeInTheDocument();
    expect(screen.getByRole("img", { name: "Cost breakdown" })).toBeInTheDocument();
    expect(screen.getByRole("img", { name: "Cost projection" })).toBeInTheDocument();
    // one card per option, side by side
    const optionsPanel = screen.getByRole("region", { name: "Options" });
    expect(within(optionsPanel).getAllByRole("heading", { level: 3 })).toHaveLength(result.options.length);
    // each alternative's difference in words ("$779.93 more a month (19.9%)"), no signs
    for (const a of result.recommended!.alternatives) {
      const change = Math.abs(a.delta_usd) < 0.005 ? "the same" : `${money(Math.abs(a.delta_usd))} ${a.delta_usd > 0 ? "more" : "less"}`;
      expect(optionsPanel).toHaveTextContent(`${a.region}: ${change} a month (`);
      // and where it comes from, part by part ("ledger-db $178.42 more (db-custom-16-65536 against ...)")
      expect(a.differences_text).not.toBe("");
      expect(optionsPanel).toHaveTextContent(`; the largest differences: ${a.differences_text}.`);
    }
    expect(optionsPanel.textContent).not.toMatch(/[+−]\$/);
  });

  test("each option's round trip is said as the average user's where the users' shares are given", () => {
    const { unmount } = render(<ResultsView result={result} />);
    const cards = () => within(screen.getByRole("region", { name: "Options" }));
    expect(cards().getAllByText("Round trip to users")).toHaveLength(result.options.length);
    unmount();
    const shared = { ...result, region_choice: { ...result.region_choice!, user_shares: { eu: 100 } } };
    render(<ResultsView result={shared} />);
    expect(cards().getAllByText("Round trip, average user")).toHaveLength(result.options.length);
    expect(cards().queryByText("Round trip to users")).toBeNull();
  });

  test("the cost breakdown sums each option's line items by component, to its total", () => {
    for (const option of result.options) {
      const total = breakdown(option).reduce((sum, p) => sum + p.monthly_usd, 0);
      expect(Math.abs(total - option.monthly_cost_usd)).toBeLessThan(0.05 * breakdown(option).length);
    }
    expect(niceTicks(1660.72)).toEqual([0, 500, 1000, 1500, 2000]);
  });

  test("the cost breakdown's labels have room for the longest option's name", () => {
    // a fixed 190 cut "1. Google Cloud asia-southeast1" to "oogle Cloud asia-southeast1"
    const long = "1. Google Cloud asia-southeast1";
    expect(labelWidth([long, "2. AWS ap-southeast-1"])).toBeGreaterThanOrEqual(long.length * 0.62 * 13);
    expect(labelWidth(["a"])).toBe(120);
    expect(labelWidth(["x".repeat(80)])).toBe(320);
    render(<CostBreakdownChart options={result.options} />);
    const label = screen.getAllByText(/^1\. /, { selector: "text.chart-label" })[0]!;
    const plotStart = Number(screen.getByRole("img", { name: "Cost breakdown" }).querySelector("rect")!.getAttribute("x"));
    expect(Number(label.getAttribute("x"))).toBeLessThan(plotStart);
    expect(Number(label.getAttribute("x"))).toBeGreaterThanOrEqual((label.textContent ?? "").length * 0.62 * 13);
    // the axis's last figure ends at its line, inside the chart
    const ticks = [...screen.getByRole("img", { name: "Cost breakdown" }).querySelectorAll("g.axis text")];
    expect(ticks.at(-1)!.getAttribute("text-anchor")).toBe("end");
    expect(ticks[0]!.getAttribute("text-anchor")).toBe("middle");
  });

  test("the cost breakdown gives each colour one meaning: the smallest components share one part", () => {
    const { container } = render(<CostBreakdownChart options={result.options} />);
    const components = new Set(result.options.flatMap((o) => o.line_items.map((i) => i.component)));
    expect(components.size).toBeGreaterThan(12); // eu-fintech: more components than colours
    const colourOf = (e: Element) => [...e.classList].find((c) => c.startsWith("series-")) ?? "none";
    const legend = within(screen.getByRole("list", { name: "Components" })).getAllByRole("listitem");
    const colours = legend.map((li) => colourOf(li.querySelector(".swatch") as Element));
    expect(new Set(colours).size, `legend colours: ${colours.join(", ")}`).toBe(legend.length);
    expect(legend.length).toBeLessThanOrEqual(9);
    const meaning = new Map(legend.map((li, i) => [colours[i], li.textContent ?? ""]));
    for (const option of result.options) {
      const label = `${option.rank}. `;
      const rects = [...container.querySelectorAll("rect")].filter((r) => r.querySelector("title")?.textContent?.startsWith(label));
      expect(rects.length).toBeGreaterThan(0);
      // each part's colour says, in the legend, the component its tooltip names
      for (const rect of rects) {
        const part = (rect.querySelector("title")?.textContent ?? "").split(", ").slice(1).join(", ").replace(/: \$[\d,.]+$/, "");
        const named = meaning.get(colourOf(rect)) ?? "";
        expect(part === OTHER_PART ? named.startsWith("other (") : named === part, `${part} drawn as ${named}`).toBe(true);
      }
      expect(new Set(rects.map(colourOf)).size).toBe(rects.length);
    }
    // and the table under the chart still lists every component
    const table = container.querySelector("details table") as HTMLElement;
    expect(rowsOf(table).map((r) => r.cells[0]?.textContent).sort()).toEqual([...components].sort());
  });

  test("line items sort by any column, and derived prices are marked ≈", async () => {
    const user = userEvent.setup();
    render(<ResultsView result={result} />);
    const table = screen.getByRole("table", { name: /^Line items of/ });
    const monthly = within(table).getByRole("columnheader", { name: /Monthly/ });
    expect(monthly).toHaveAttribute("aria-sort", "descending");
    const amounts = () => rowsOf(table).map((r) => Number((r.cells[6]?.textContent ?? "").replace(/[^0-9.]/g, "")));
    const before = amounts();
    expect(before).toEqual([...before].sort((a, b) => b - a));
    await user.click(within(monthly).getByRole("button", { name: /Monthly/ }));
    expect(monthly).toHaveAttribute("aria-sort", "ascending");
    expect(amounts()).toEqual([...before].sort((a, b) => a - b));

    const sku = within(table).getByRole("columnheader", { name: /SKU/ });
    await user.click(within(sku).getByRole("button"));
    expect(sku).toHaveAttribute("aria-sort", "ascending");
    const skus = rowsOf(table).map((r) => r.cells[3]?.textContent ?? "");
    expect(skus).toEqual([...skus].sort((a, b) => a.localeCompare(b)));

    // every option: its derived lines carry ≈, its list-priced ones do not
    const picker = screen.getByLabelText("Option");
    let sawDerived = false;
    for (const option of result.options) {
      fireEvent.change(picker, { target: { value: `${option.provider}:${option.region}` } });
      const shown = screen.getByRole("table", { name: /^Line items of/ });
      const rows = rowsOf(shown);
      expect(rows).toHaveLength(option.line_items.length);
      const derived = option.line_items.filter((i) => i.price_basis === "derived").length;
      expect(rows.filter((r) => r.cells[6]?.textContent?.includes("≈"))).toHaveLength(derived);
      sawDerived ||= derived > 0;
      // each line says where its price came from and when
      for (const item of option.line_items) {
        const titled = within(shown).queryAllByTitle(item.source);
        if (titled.length) expect(titled[0]).toHaveTextContent(shortSource(item.source));
        else expect(within(shown).getAllByText(item.source).length).toBeGreaterThan(0);
        expect(within(shown).getAllByText(item.as_of).length).toBeGreaterThan(0);
      }
    }
    expect(sawDerived).toBe(true);
    expect(screen.getByText(/A derived price: computed from list prices/)).toBeInTheDocument();
  });

  test("compliance controls filter by framework and status", async () => {
    const user = userEvent.setup();
    render(<ResultsView result={result} />);
    const table = screen.getByRole("region", { name: "Compliance controls" });
    const count = () => rowsOf(within(table).getByRole("table")).length;
    expect(count()).toBe(result.compliance.length);
    const frameworks = [...new Set(result.compliance.map((c) => c.framework))];
    expect(frameworks.length).toBeGreaterThan(1);
    const first = frameworks[0]!;
    await user.selectOptions(screen.getByLabelText("Framework"), first);
    expect(count()).toBe(result.compliance.filter((c) => c.framework === first).length);
    await user.selectOptions(screen.getByLabelText("Control status"), "met");
    expect(count()).toBe(result.compliance.filter((c) => c.framework === first && c.status === "met").length);
    await user.selectOptions(screen.getByLabelText("Framework"), "");
    await user.selectOptions(screen.getByLabelText("Control status"), "customer");
    const customer = result.compliance.filter((c) => c.status === "customer").length;
    expect(count()).toBe(customer);
    expect(screen.getByRole("status")).toHaveTextContent(`${customer} of ${result.compliance.length} controls shown`);
  });

  test("the review and the warnings are there", () => {
    render(<ResultsView result={result} />);
    const review = screen.getByRole("region", { name: "Well-Architected review" });
    expect(within(review).getAllByRole("heading", { level: 3 })).toHaveLength(result.review.length);
    // each finding at risk says so; a finding at no risk has no badge
    const atRisk = result.review.flatMap((p) => (p.finding_risks ?? []).filter((r) => r !== "none"));
    expect(atRisk.length).toBeGreaterThan(0);
    expect(within(review).getAllByText(/^(High|Medium) risk$/, { selector: "li > .badge" })).toHaveLength(atRisk.length);
    const calm = result.review.flatMap((p) => p.findings.filter((_, i) => p.finding_risks?.[i] === "none"));
    for (const f of calm) expect(within(review).getByText(f).querySelector(".badge")).toBeNull();
    const warnings = screen.getByRole("region", { name: "Warnings and unpriced items" });
    for (const w of result.warnings) expect(within(warnings).getByText(w)).toBeInTheDocument();
  });
});

describe("over budget", () => {
  test("the levers say what each change would cost, what it gives up, and all of them at once", async () => {
    // saas-startup with a tenth of its budget: over budget now
    const doc = example("saas-startup").doc;
    const business = { ...(doc.business as Record<string, unknown>), monthly_budget_usd: 150 };
    const { result: stored } = await completedAssessment({ ...doc, name: "SaaS startup on a shoestring", business });
    const tight = asResult(stored.result);
    const levers = tight.budget.levers ?? [];
    expect(levers.length).toBeGreaterThan(1);
    render(<ResultsView result={tight} />);
    const section = screen.getByRole("region", { name: "What would lower the cost" });
    // the recommendation's over-budget line links to it
    const link = within(screen.getByRole("region", { name: "Recommendation" })).getByRole("link", { name: "What would lower the cost" });
    expect(link.getAttribute("href")).toBe(`#${section.id}`);
    // and says where the money goes, as the engine words it
    expect(tight.budget.passing_note).toMatch(/^Where the money goes: the largest parts? (is|are) /);
    expect(screen.getByRole("region", { name: "Recommendation" })).toHaveTextContent(tight.budget.passing_note!);
    expect(section).toHaveTextContent("The recommendation is over budget");
    const rows = rowsOf(within(section).getByRole("table"));
    expect(rows).toHaveLength(levers.length);
    levers.forEach((lever, i) => {
      const cells = within(rows[i]!).getAllByRole("cell");
      expect(within(rows[i]!).getByRole("rowheader")).toHaveTextContent(lever.change);
      expect(cells[0]).toHaveTextContent(`$${lever.monthly_cost_usd.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`);
      expect(cells[4]).toHaveTextContent(lever.gives_up);
    });
    const commitment = levers.filter((l) => l.setting === "preferences.commitment");
    expect(commitment.map((l) => l.together)).toEqual([true, false]);
    expect(section).toHaveTextContent(`All of them at once (not ${commitment[1]!.change})`);
  });
});
