import "@testing-library/jest-dom/vitest";
import { cleanup, configure } from "@testing-library/react";
import { afterEach, inject } from "vitest";
import { setApiOrigin } from "../src/api/session";

// the real API started by test/server.ts
setApiOrigin(inject("apiOrigin"));

// What the tests wait for comes from that real server: a sign-in hashes a password
// (argon2, 64 MiB), which takes well over Testing Library's default 1 s when scripts/test
// runs pytest's workers beside these tests on two cores. Waiting longer changes nothing
// a test checks, only how long it waits before it fails.
configure({ asyncUtilTimeout: 10_000 });

afterEach(() => {
  cleanup();
});

// The app's state changes when the real API answers, outside any act() scope: React says so
// on every such update. That warning is about tests that render synchronously; these wait
// for what a user would see (findBy/waitFor), so it is noise here. Every other error shows.
const consoleError = console.error.bind(console);
console.error = (...args: unknown[]) => {
  if (typeof args[0] === "string" && args[0].includes("not wrapped in act(")) return;
  consoleError(...args);
};
