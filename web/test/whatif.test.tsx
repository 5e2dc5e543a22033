import { fireEvent, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { asResult, type AssessmentRead, type AssessmentResult } from "../src/api/types";
import { whatIfBody, WhatIfPanel } from "../src/features/whatif/WhatIfPanel";
import { money } from "../src/lib/format";
import { completedAssessment, example, renderWithQueries, signedInUser, signedOut } from "./helpers";

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
    const residency = within(screen.getByRole("group", { name: "Data residency" }));
    // the groups, then each country with a covered region
    expect(residency.getAllByRole("checkbox").map((b) => b.parentElement?.textContent).slice(5, 8)).toEqual(["South America", "Australia (AU)", "Belgium (BE)"]);
    await user.click(residency.getByLabelText("Australia (AU)"));
    await user.click(screen.getByRole("button", { name: "Try it" }));
    const differences = await screen.findByRole("region", { name: "Differences" }, { timeout: 20_000 });
    const placement = (within(differences).getByRole("row", { name: /^Recommended/ }) as HTMLTableRowElement).cells[2]?.textContent ?? "";
    expect(placement).toMatch(/(ap-southeast-2|australiaeast|australia-southeast1)/);
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
});
