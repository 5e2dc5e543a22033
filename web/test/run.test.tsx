import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createAssessment, example, renderApp, signedInUser, signedOut } from "./helpers";

beforeAll(signedInUser);
afterAll(signedOut);

describe("running an assessment", () => {
  test("Run shows the progress from the server's events, then the results on the same page", async () => {
    const user = userEvent.setup();
    const { doc } = example("saas-startup");
    const assessment = await createAssessment(doc);
    const { router } = renderApp(`/assessments/${assessment.id}`);
    const runPanel = await screen.findByRole("region", { name: /^Run/ });
    expect(within(runPanel).getByRole("status")).toHaveTextContent("Not run yet: run it to get priced options.");
    expect(screen.queryByRole("heading", { name: "Recommendation" })).toBeNull();

    await user.click(within(runPanel).getByRole("button", { name: "Run" }));
    // the run is followed: queued or running, with the progress bar, then completed
    await waitFor(() => expect(within(runPanel).getByRole("status")).toHaveTextContent(/^(Queued|Running|The run completed)/));
    await waitFor(() => expect(within(runPanel).getByRole("status")).toHaveTextContent("The run completed."), { timeout: 30_000 });
    // the results appear without a reload: same router location, no navigation
    expect(await screen.findByRole("heading", { level: 2, name: "Recommendation" }, { timeout: 15_000 })).toBeInTheDocument();
    for (const name of ["Options", "Line items", "Compliance", "Projection"]) expect(screen.getByRole("heading", { level: 2, name })).toBeInTheDocument();
    expect(router.state.location.pathname).toBe(`/assessments/${assessment.id}`);
    expect(router.state.historyAction).toBe("POP");
    // the steps the server reported are listed in order, the last one done; not the claim
    // ("starting"), which is no step of the work
    const steps = within(runPanel).queryByRole("list", { name: "Steps" });
    if (steps) {
      const items = within(steps).getAllByRole("listitem");
      expect(items[items.length - 1]).not.toHaveAttribute("aria-current");
      for (const item of items) expect(item).not.toHaveTextContent(/^✓ starting$/);
    }
    expect(within(runPanel).getByRole("button", { name: "Run again" })).toBeEnabled();
    // the what-if, the reports and the chat are on the page too
    expect(screen.getByRole("slider", { name: "Traffic multiplier" })).toBeInTheDocument();
    expect(screen.getByRole("textbox", { name: "Ask about this assessment" })).toBeInTheDocument();
    // a report is read in the page when asked for
    expect(screen.queryByRole("article")).toBeNull();
    await user.click(screen.getByRole("button", { name: "Read the executive report" }));
    const report = await screen.findByRole("article", { name: /executive report$/ }, { timeout: 15_000 });
    expect(within(report).getAllByRole("heading", { level: 4 }).length).toBeGreaterThan(3);
  });
});
