/** Test helpers: real accounts and assessments on the API that test/server.ts started. */
import { QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ReactNode } from "react";
import { createMemoryRouter } from "react-router";
import { parse } from "yaml";
import { api, ok } from "../src/api/client";
import { asRequirementsBody } from "../src/api/types";
import { register, signOut } from "../src/api/session";
import type { AssessmentRead, ResultRead } from "../src/api/types";
import { App } from "../src/App";
import { makeQueryClient } from "../src/queryClient";
import { routes } from "../src/router";

export const PASSWORD = "correct horse battery staple 42";
let users = 0;

/** A fresh account, signed in (its access token in memory, as in the app). */
export async function signedInUser(): Promise<{ email: string }> {
  users += 1;
  const email = `web-${Date.now().toString(36)}-${users}-${Math.random().toString(36).slice(2, 8)}@example.com`;
  await register(email, PASSWORD, `Tester ${users}`);
  return { email };
}

export async function signedOut(): Promise<void> {
  await signOut().catch(() => undefined);
}

/** An example requirements file of the repository, as text and as a document. */
export function example(name: string): { text: string; doc: Record<string, unknown> } {
  const text = readFileSync(join(process.cwd(), "..", "examples", `${name}.yaml`), "utf8");
  return { text, doc: parse(text) as Record<string, unknown> };
}

export async function createAssessment(doc: Record<string, unknown>): Promise<AssessmentRead> {
  return ok(api().POST("/api/v1/assessments", { body: { title: String(doc.name), requirements: asRequirementsBody(doc) } }));
}

/** Creates and runs an assessment; resolves with its stored result (runs take seconds in-process). */
export async function completedAssessment(doc: Record<string, unknown>): Promise<{ assessment: AssessmentRead; result: ResultRead }> {
  const assessment = await createAssessment(doc);
  await ok(api().POST("/api/v1/assessments/{assessment_id}/run", { params: { path: { assessment_id: assessment.id } } }));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const now = await ok(api().GET("/api/v1/assessments/{assessment_id}", { params: { path: { assessment_id: assessment.id } } }));
    if (now.status === "completed") {
      const result = await ok(api().GET("/api/v1/assessments/{assessment_id}/result", { params: { path: { assessment_id: assessment.id } } }));
      return { assessment: now, result };
    }
    if (now.status === "failed" || now.status === "cancelled") throw new Error(`the run ended ${now.status}: ${now.error}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("the run did not complete in 60 s");
}

/** The whole app (session restore, routes, query cache) at a path, in memory. */
export function renderApp(path: string) {
  const router = createMemoryRouter(routes(), { initialEntries: [path] });
  const view = render(<App router={router as never} queryClient={makeQueryClient()} />);
  return { ...view, router };
}

/** A component with a query cache of its own. */
export function renderWithQueries(ui: ReactNode) {
  const client = makeQueryClient();
  return render(<QueryClientProvider client={client}>{ui}</QueryClientProvider>);
}

/** Captures what the app hands to the browser as downloads (jsdom has no object URLs). */
export function captureDownloads(): { files: { name: string; blob: Blob }[]; restore: () => void } {
  const files: { name: string; blob: Blob }[] = [];
  const blobs = new Map<string, Blob>();
  const create = URL.createObjectURL;
  const revoke = URL.revokeObjectURL;
  const click = HTMLAnchorElement.prototype.click;
  let n = 0;
  URL.createObjectURL = (blob: Blob) => {
    const url = `blob:test/${(n += 1)}`;
    blobs.set(url, blob);
    return url;
  };
  URL.revokeObjectURL = () => undefined;
  HTMLAnchorElement.prototype.click = function (this: HTMLAnchorElement) {
    const blob = blobs.get(this.href);
    if (blob) files.push({ name: this.download, blob });
  };
  return {
    files,
    restore: () => {
      URL.createObjectURL = create;
      URL.revokeObjectURL = revoke;
      HTMLAnchorElement.prototype.click = click;
    },
  };
}
