import { fireEvent, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { asResult, type AssessmentRead, type AssessmentResult } from "../src/api/types";
import { leverPreset, whatIfBody, WhatIfPanel } from "../src/features/whatif/WhatIfPanel";
import { money } from "../src/lib/format";
import { completedAssessment, example, renderApp, renderWithQueries, signedInUser, signedOut } from "./helpers";

let assessment: AssessmentRead;
let current: AssessmentResult;

beforeAll(async () => {
  await signedInUser();
  const done = await completedAssessment(example("saas-startup").doc);
  assessment = done.assessment;
  current = asResult(done.result.result);
});
afterAll(signedOut);

describe("what-if", () => {
  test("only what was changed is asked", () => {
    const base = { providers: ["aws", "azure", "gcp"], residency: [] };
    expect(whatIfBody(base, { traffic: 1, providers: ["gcp", "aws", "azure"], commitment: "", availability: "", residency: [] })).toEqual({});
    expect(whatIfBody(base, { traffic: 3, providers: ["aws"], commitment: "1y", availability: "99.95", residency: ["eu"] })).toEqual({
      traffic_multiplier: 3,
      providers: ["aws"],
      commitment: "1y",
      availability_target: 99.95,
      data_residency: ["eu"],
    });
    // the settings a budget lever changes, only where picked
    expect(whatIfBody(base, { traffic: 1, providers: base.providers, commitment: "", availability: "", residency: [], managed: "false", spot: "true", kubernetes: "avoid", arm: "" })).toEqual({
      managed_services: false,
      spot_ok: true,
      kubernetes: "avoid",
    });
    // the frameworks, only where they differ from the stored ones (in any order)
    const cards = { ...base, compliance: ["pci_dss", "gdpr"] };
    const same = { traffic: 1, providers: base.providers, commitment: "", availability: "", residency: [] };
    expect(whatIfBody(cards, { ...same, compliance: ["gdpr", "pci_dss"] })).toEqual({});
    expect(whatIfBody(cards, { ...same, compliance: ["gdpr"] })).toEqual({ compliance: ["gdpr"] });
    expect(whatIfBody(cards, { ...same, compliance: [] })).toEqual({ compliance: [] });
  });

  test("the hosted-payment-page lever presets the frameworks that still apply", () => {
    const lever = {
      setting: "compliance",
      value: ["gdpr"],
      change: "card payments on the payment processor's hosted page, these systems out of PCI DSS scope",
      monthly_cost_usd: 79.17,
      saving_usd: 12.58,
      within_budget: false,
      gives_up: "card data never reaches these systems",
    };
    expect(leverPreset(lever)).toEqual({ compliance: ["gdpr"] });
  });

  test("a craft shop tries the hosted payment page: PCI DSS unticked, the what-if within its budget", async () => {
    const user = userEvent.setup();
    const shop = {
      name: "Craft shop",
      users: ["gb"],
      availability_target: 99.5,
      compliance: ["pci_dss"],
      business: { monthly_budget_usd: 60 },
      workloads: [
        { name: "shop", type: "web_service", peak_rps: 5, avg_rps: 1, cpu_ms_per_request: 60, memory_gb: 1, egress_gb_per_month: 20 },
        { name: "shop-db", type: "database", engine: "mysql", storage_gb: 5 },
      ],
    };
    const done = await completedAssessment(shop);
    const lever = (asResult(done.result.result).budget.levers ?? []).find((l) => l.setting === "compliance")!;
    expect(lever.within_budget).toBe(true);
    renderApp(`/assessments/${done.assessment.id}`);
    const section = await screen.findByRole("region", { name: "What would lower the cost" }, { timeout: 20_000 });
    await user.click(within(section).getByRole("button", { name: `Try as a what-if: ${lever.change}` }));
    const panel = screen.getByRole("region", { name: "What-if" });
    const frameworks = within(within(panel).getByRole("group", { name: "Compliance frameworks" }));
    expect(frameworks.getByLabelText("PCI DSS")).not.toBeChecked();
    const differences = await within(panel).findByRole("region", { name: "Differences" }, { timeout: 20_000 });
    const line = within(differences).getAllByRole("status")[0]!.textContent ?? "";
    expect(line).toContain(`Monthly cost: ${money(asResult(done.result.result).recommended!.monthly_cost_usd)} → `);
    const budgetRow = within(differences).getByRole("row", { name: /^Budget/ }) as HTMLTableRowElement;
    expect(budgetRow.cells[2]?.textContent).toMatch(/^Within/);
  });

  test("three times the traffic on AWS and Azure only: the new result and the differences beside the current one", async () => {
    const user = userEvent.setup();
    renderWithQueries(<WhatIfPanel assessmentId={assessment.id} current={current} />);
    const slider = screen.getByRole("slider", { name: "Traffic multiplier" });
    fireEvent.change(slider, { target: { value: "3" } });
    expect(slider).toHaveAttribute("aria-valuetext", "3 times today's traffic");
    await user.click(screen.getByLabelText("Google Cloud"));
    await user.click(screen.getByRole("button", { name: "Try it" }));

    const differences = await screen.findByRole("region", { name: "Differences" }, { timeout: 20_000 });
    const before = current.recommended!.monthly_cost_usd;
    const line = within(differences).getAllByRole("status")[0]!;
    expect(line.textContent).toContain(`Monthly cost: ${money(before)} → `);
    // the difference in words, as the engine writes it: no sign in front of an amount
    expect(line.textContent).toMatch(/\(\$[\d,]+\.\d\d (more|less)(, [\d.]+%)?\)|\(the same\)/);
    expect(line.textContent).not.toMatch(/[+−-]\$/);
    // the new recommendation is on one of the clouds kept
    expect(line.textContent).toMatch(/(Recommended: .* → (AWS|Azure) |Still recommended: (AWS|Azure) )/);
    const table = within(differences).getByRole("table");
    expect(within(table).getAllByRole("columnheader").map((h) => h.textContent)).toEqual(["Figure", "Current", "What-if"]);
    const costRow = within(table).getByRole("row", { name: /^Monthly cost/ }) as HTMLTableRowElement;
    expect(costRow.cells[1]).toHaveTextContent(money(before));
    // three times the traffic costs more than today
    const after = Number((costRow.cells[2]?.textContent ?? "").replace(/[^0-9.]/g, ""));
    expect(after).toBeGreaterThan(before);
    // the what-if options are only AWS and Azure
    const options = (within(table).getByRole("row", { name: /^Options/ }) as HTMLTableRowElement).cells[2]?.textContent ?? "";
    expect(options).not.toContain("Google Cloud");

    await user.click(within(differences).getByRole("button", { name: "Show the what-if result in full" }));
    expect(within(differences).getByRole("heading", { level: 3, name: "Recommendation" })).toBeInTheDocument();
  });

  test("data kept in one country: Australia only puts the recommendation in Sydney", async () => {
    const user = userEvent.setup();
    renderWithQueries(<WhatIfPanel assessmentId={assessment.id} current={current} />);
    // the frameworks as stored: saas-startup's SOC 2 ticked, the others not
    const frameworks = within(screen.getByRole("group", { name: "Compliance frameworks" }));
    expect(frameworks.getAllByRole("checkbox").filter((b) => (b as HTMLInputElement).checked).map((b) => b.parentElement?.textContent)).toEqual(["SOC 2"]);
    const residency = within(screen.getByRole("group", { name: "Data residency" }));
    // the groups, then each country with a covered region
    expect(residency.getAllByRole("checkbox").map((b) => b.parentElement?.textContent).slice(5, 8)).toEqual(["South America", "Australia (AU)", "Belgium (BE)"]);
    await user.click(residency.getByLabelText("Australia (AU)"));
    await user.click(screen.getByRole("button", { name: "Try it" }));
    const differences = await screen.findByRole("region", { name: "Differences" }, { timeout: 20_000 });
    const placement = (within(differences).getByRole("row", { name: /^Recommended/ }) as HTMLTableRowElement).cells[2]?.textContent ?? "";
    expect(placement).toMatch(/(ap-southeast-2|australiaeast|australia-southeast1)/);
  });

  test("60% of the users in the EU: the share boxes move the recommendation to Europe", async () => {
    const user = userEvent.setup();
    // a language app weighed 40% US, 35% EU, 15% Japan, 10% Korea: recommended in the US
    const lingo = {
      name: "language app",
      users: ["us", "eu", "JP", "KR"],
      user_shares: { us: 40, eu: 35, JP: 15, KR: 10 },
      workloads: [
        { name: "api", type: "web_service", peak_rps: 400 },
        { name: "db", type: "database", storage_gb: 200 },
      ],
    };
    const done = await completedAssessment(lingo);
    const stored = asResult(done.result.result);
    expect(stored.region_choice?.user_shares).toEqual(lingo.user_shares);
    // unchanged shares are not sent; changed ones are, as numbers; all empty: none
    const base = { providers: ["aws"], residency: [], shares: lingo.user_shares };
    const same = { traffic: 1, providers: ["aws"], commitment: "", availability: "", residency: [] };
    expect(whatIfBody(base, { ...same, shares: { us: "40", eu: "35", JP: "15", KR: "10" } })).toEqual({});
    expect(whatIfBody(base, { ...same, shares: { us: "20", eu: "60", JP: "10", KR: "10" } })).toEqual({ user_shares: { us: 20, eu: 60, JP: 10, KR: 10 } });
    expect(whatIfBody(base, { ...same, shares: { us: "", eu: " ", JP: "", KR: "" } })).toEqual({ user_shares: {} });

    renderWithQueries(<WhatIfPanel assessmentId={done.assessment.id} current={stored} />);
    const shares = within(screen.getByRole("group", { name: "Share of the users at each place (%)" }));
    expect(shares.getByLabelText("United States (us)")).toHaveValue("40");
    for (const [label, value] of [["United States (us)", "20"], ["European Union (eu)", "60"], ["Japan (JP)", "10"]] as const) {
      await user.clear(shares.getByLabelText(label));
      await user.type(shares.getByLabelText(label), value);
    }
    expect(shares.getByText("Together 100%.")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Try it" }));
    const differences = await screen.findByRole("region", { name: "Differences" }, { timeout: 20_000 });
    const placement = (within(differences).getByRole("row", { name: /^Recommended/ }) as HTMLTableRowElement).cells;
    expect(placement[1]?.textContent).toMatch(/(us-|eastus|westus|centralus)/);
    expect(placement[2]?.textContent).toMatch(/(eu-|europe-|northeurope|westeurope|francecentral|germanywestcentral|swedencentral|uk|london)/i);
  });

  test("nothing changed, or no cloud left, is said in one sentence without asking the server", async () => {
    const user = userEvent.setup();
    renderWithQueries(<WhatIfPanel assessmentId={assessment.id} current={current} />);
    await user.click(screen.getByRole("button", { name: "Try it" }));
    expect(screen.getByRole("alert")).toHaveTextContent(/^Change something first: every setting is as the requirements have it\.$/);
    for (const name of ["AWS", "Azure", "Google Cloud"]) await user.click(screen.getByLabelText(name));
    await user.click(screen.getByRole("button", { name: "Try it" }));
    expect(screen.getByRole("alert")).toHaveTextContent(/^Choose at least one cloud\.$/);
  });

  test("a budget lever tried from the results runs as a what-if with its setting picked", async () => {
    const user = userEvent.setup();
    // saas-startup on a tenth of its budget: its results list levers, each with "Try it"
    const doc = example("saas-startup").doc;
    const business = { ...(doc.business as Record<string, unknown>), monthly_budget_usd: 150 };
    const tight = await completedAssessment({ ...doc, name: "SaaS startup, tight budget", business });
    const levers = asResult(tight.result.result).budget.levers ?? [];
    const managed = levers.find((l) => l.setting === "preferences.managed_services")!;
    expect(leverPreset(managed)).toEqual({ managed: "false" });
    expect(levers.map((l) => Object.keys(leverPreset(l)).length)).toEqual(levers.map(() => 1));

    renderApp(`/assessments/${tight.assessment.id}`);
    const section = await screen.findByRole("region", { name: "What would lower the cost" }, { timeout: 20_000 });
    await user.click(within(section).getByRole("button", { name: `Try as a what-if: ${managed.change}` }));
    const panel = screen.getByRole("region", { name: "What-if" });
    expect(panel).toHaveFocus();
    expect(panel).toHaveTextContent(`Trying a budget lever: ${managed.change}.`);
    expect(within(panel).getByLabelText("Managed databases and caches")).toHaveValue("false");
    const differences = await within(panel).findByRole("region", { name: "Differences" }, { timeout: 20_000 });
    const before = asResult(tight.result.result).recommended!.monthly_cost_usd;
    expect(within(differences).getAllByRole("status")[0]!.textContent).toContain(`Monthly cost: ${money(before)} → `);
    await user.click(within(differences).getByRole("button", { name: "Show the what-if result in full" }));
    // the what-if result's database is self-managed
    expect(within(differences).getAllByText(/self-managed/).length).toBeGreaterThan(0);
  });
});
