import "@testing-library/jest-dom/vitest";
import { cleanup } from "@testing-library/react";
import { afterEach, inject } from "vitest";
import { setApiOrigin } from "../src/api/session";

// the real API started by test/server.ts
setApiOrigin(inject("apiOrigin"));

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
