import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { asResult } from "../src/api/types";
import { money } from "../src/lib/format";
import { completedAssessment, createAssessment, example, renderApp, signedInUser, signedOut } from "./helpers";

let cost = 0;

beforeAll(async () => {
  await signedInUser();
  const done = await completedAssessment({ ...example("static-site").doc, name: "Brochure site" });
  cost = asResult(done.result.result).recommended!.monthly_cost_usd;
  await createAssessment({ ...example("saas-startup").doc, name: "Draft SaaS" });
});
afterAll(signedOut);

describe("the assessments list", () => {
  test("shows each assessment with its status and cost, filters, and deletes", async () => {
    const user = userEvent.setup();
    renderApp("/assessments");
    const table = await screen.findByRole("table");
    const row = (name: string) => within(table).getByRole("row", { name: new RegExp(name) });
    expect(within(row("Brochure site")).getByText("Completed")).toBeInTheDocument();
    await waitFor(() => expect(row("Brochure site")).toHaveTextContent(money(cost)));
    expect(within(row("Draft SaaS")).getByText("Draft")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "New assessment" })).toHaveAttribute("href", "/assessments/new");

    await user.type(screen.getByRole("searchbox", { name: "Search assessments" }), "brochure");
    expect(within(table).queryByRole("row", { name: /Draft SaaS/ })).toBeNull();
    await user.clear(screen.getByRole("searchbox", { name: "Search assessments" }));

    await user.selectOptions(screen.getByLabelText("Status"), "draft");
    await waitFor(() => expect(within(screen.getByRole("table")).queryByRole("row", { name: /Brochure site/ })).toBeNull());
    await user.selectOptions(screen.getByLabelText("Status"), "");

    await user.click(await screen.findByRole("button", { name: "Delete Draft SaaS" }));
    await user.click(within(screen.getByRole("group", { name: "Delete Draft SaaS?" })).getByRole("button", { name: "Yes, delete" }));
    await waitFor(() => expect(within(screen.getByRole("table")).queryByRole("row", { name: /Draft SaaS/ })).toBeNull());
    expect(within(screen.getByRole("table")).getByRole("row", { name: /Brochure site/ })).toBeInTheDocument();
  });
});
