import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, test } from "vitest";
import { accessTokenNow, isSignedIn } from "../src/api/session";
import { safeNext } from "../src/routes/SignIn";
import { PASSWORD, renderApp, signedInUser, signedOut } from "./helpers";

afterEach(signedOut);

const unique = () => `signup-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}@example.com`;

describe("sign up", () => {
  test("its fields are labelled, and creating an account signs you in", async () => {
    const user = userEvent.setup();
    const { router } = renderApp("/signup");
    await user.type(await screen.findByLabelText("Full name"), "Ada Lovelace");
    await user.type(screen.getByLabelText("Email"), unique());
    await user.type(screen.getByLabelText("Password"), PASSWORD);
    await user.click(screen.getByRole("button", { name: "Create account" }));
    await waitFor(() => expect(router.state.location.pathname).toBe("/assessments"));
    expect(isSignedIn()).toBe(true);
    expect(await screen.findByRole("heading", { level: 1, name: "Assessments" })).toBeInTheDocument();
    // the access token is held in memory, never in web storage
    expect(JSON.stringify({ ...localStorage })).not.toContain(accessTokenNow() ?? "-");
    expect(JSON.stringify({ ...sessionStorage })).not.toContain(accessTokenNow() ?? "-");
  });

  test("a refused password is one sentence beside the Password field", async () => {
    const user = userEvent.setup();
    renderApp("/signup");
    await user.type(await screen.findByLabelText("Full name"), "Bob");
    await user.type(screen.getByLabelText("Email"), unique());
    await user.type(screen.getByLabelText("Password"), "password1234");
    await user.click(screen.getByRole("button", { name: "Create account" }));
    const password = screen.getByLabelText("Password");
    await waitFor(() => expect(password).toHaveAttribute("aria-invalid", "true"));
    // the server's reason, linked to the field, as one sentence
    expect(password).toHaveAccessibleDescription(/^Password is one of the most common passwords found in data breaches\./);
    const alert = screen.getByRole("alert");
    expect(alert.textContent).toMatch(/^The account was not created: password is one of the most common passwords found in data breaches\.$/);
    expect(isSignedIn()).toBe(false);
  });

  test("several refused fields each show their own sentence", async () => {
    const user = userEvent.setup();
    renderApp("/signup");
    await user.type(await screen.findByLabelText("Full name"), " ");
    await user.type(screen.getByLabelText("Email"), "not-an-email");
    await user.type(screen.getByLabelText("Password"), "short");
    await user.click(screen.getByRole("button", { name: "Create account" }));
    await waitFor(() => expect(screen.getByLabelText("Email")).toHaveAccessibleDescription("Not a valid email address."));
    expect(screen.getByLabelText("Password")).toHaveAccessibleDescription(/^String should have at least 12 characters\./);
    expect(screen.getByRole("alert")).toHaveTextContent("The account was not created: 3 fields need a change.");
  });
});

describe("sign in", () => {
  test("a wrong password says so in one sentence; the right one signs in and goes where you were going", async () => {
    const { email } = await signedInUser();
    await signedOut();
    const user = userEvent.setup();
    const { router } = renderApp("/settings");
    // no session: sent to sign in, with the way back
    await waitFor(() => expect(router.state.location.pathname).toBe("/signin"));
    // the path changes before the page renders: wait for the form itself
    await user.type(await screen.findByLabelText("Email"), email);
    await user.type(screen.getByLabelText("Password"), "not the password at all");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(/^Invalid email or password\.$/);
    await user.clear(screen.getByLabelText("Password"));
    await user.type(screen.getByLabelText("Password"), PASSWORD);
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    await waitFor(() => expect(router.state.location.pathname).toBe("/settings"));
    expect(await screen.findByText(email)).toBeInTheDocument();
  });

  test("signing out ends the session and returns to sign in", async () => {
    await signedInUser();
    const user = userEvent.setup();
    const { router } = renderApp("/assessments");
    await user.click(await screen.findByRole("button", { name: "Sign out" }));
    await waitFor(() => expect(router.state.location.pathname).toBe("/signin"));
    expect(isSignedIn()).toBe(false);
  });

  test("after signing in, only this app's paths are followed", () => {
    expect(safeNext("/assessments/1?x=2")).toBe("/assessments/1?x=2");
    expect(safeNext("//evil.example/x")).toBe("/assessments");
    expect(safeNext("https://evil.example")).toBe("/assessments");
    expect(safeNext("/\\evil.example")).toBe("/assessments");
    expect(safeNext(null)).toBe("/assessments");
  });
});
