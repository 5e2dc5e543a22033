/**
 * Global setup of the end-to-end run: the built app (built here when web/dist is missing or
 * older than its sources), a fresh output folder for screenshots, and a real
 * `infra-mind serve` on SQLite in a temporary folder with no LLM key, so every text comes
 * from the offline writer and a run completes in seconds.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { startApi } from "../test/server";
import { chromiumPath, OUTPUT_DIR } from "./browser";

const WEB = fileURLToPath(new URL("..", import.meta.url));

function newestMtimeMs(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newestMtimeMs(join(path, name))));
}

function ensureBuilt(): void {
  const index = join(WEB, "dist", "index.html");
  const sources = ["src", "public", "index.html", "vite.config.ts", "package-lock.json"].map((p) => join(WEB, p)).filter(existsSync);
  if (existsSync(index) && statSync(index).mtimeMs >= Math.max(...sources.map(newestMtimeMs))) return;
  console.log("e2e: web/dist is missing or older than its sources: npm run build");
  // Vitest sets NODE_ENV=test, which Vite would honour: React's development build, 60% larger
  const env = { ...process.env, NODE_ENV: "production" };
  const built = spawnSync("npm", ["run", "-s", "build"], { cwd: WEB, stdio: "inherit", env });
  if (built.status !== 0) throw new Error("the app did not build (npm run build failed)");
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  chromiumPath(); // one clear line now rather than a failure in every test
  ensureBuilt();
  rmSync(OUTPUT_DIR, { recursive: true, force: true });
  mkdirSync(OUTPUT_DIR, { recursive: true });
  const api = await startApi({
    WEB_DIST_DIR: join(WEB, "dist"),
    // the offline writer only: no provider key or endpoint reaches the server
    OPENAI_API_KEY: undefined,
    ANTHROPIC_API_KEY: undefined,
    OPENAI_BASE_URL: undefined,
    ANTHROPIC_BASE_URL: undefined,
    LLM_PROVIDER_ORDER: "offline",
  });
  project.provide("apiOrigin", api.origin);
  return api.stop;
}
