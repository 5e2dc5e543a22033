import { screen, within } from "@testing-library/react";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { renderApp, signedInUser, signedOut } from "./helpers";

let email = "";

beforeAll(async () => {
  ({ email } = await signedInUser());
});
afterAll(signedOut);

describe("settings", () => {
  test("lists the members of each of your organizations with their role", async () => {
    renderApp("/settings");
    const table = await screen.findByRole("table", { name: /^Members of .+'s organization$/ });
    const rows = within(table).getAllByRole("row").slice(1); // after the header row
    expect(rows).toHaveLength(1);
    const cells = within(rows[0]!).getAllByRole("cell");
    expect(within(rows[0]!).getByRole("rowheader")).toHaveTextContent(/^Tester \d+$/);
    expect(cells.map((c) => c.textContent)).toEqual([email, "Owner"]);
    // an owner also manages the organization's LLM keys
    expect(screen.getByRole("heading", { level: 3, name: "LLM keys" })).toBeInTheDocument();
  });
});
