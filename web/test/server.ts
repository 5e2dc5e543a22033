/**
 * Vitest global setup: a real `infra-mind serve` on a free loopback port, SQLite in a
 * temporary folder, runs in-process. The component tests talk to it as the app does:
 * no fake API. The executable: $INFRA_MIND_BIN, else the repository's .venv. The
 * end-to-end run (e2e/setup.ts) starts its own with `startApi`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    apiOrigin: string;
  }
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.unref();
    server.on("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

async function waitUntilUp(origin: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 45_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`infra-mind serve exited (${child.exitCode}):\n${log()}`);
    try {
      const response = await fetch(`${origin}/health`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`infra-mind serve did not answer /health in 45 s:\n${log()}`);
}

export interface RunningApi {
  origin: string;
  stop: () => Promise<void>;
}

/**
 * Starts `infra-mind serve` with the embedded defaults in a folder of its own (SQLite under
 * ./data, tasks in-process) on a free loopback port; resolves once /health answers.
 * `env` adds to (or, with undefined, removes from) the environment it inherits.
 */
export async function startApi(env: Record<string, string | undefined> = {}): Promise<RunningApi> {
  const bin = process.env.INFRA_MIND_BIN ?? fileURLToPath(new URL("../../.venv/bin/infra-mind", import.meta.url));
  if (!existsSync(bin)) {
    throw new Error(`the web tests need the API: ${bin} is missing (run scripts/bootstrap, or set INFRA_MIND_BIN)`);
  }
  const dir = mkdtempSync(join(tmpdir(), "infra-mind-web-test-"));
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  let output = "";
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    ENVIRONMENT: "development",
    JWT_SECRET_KEY: "web-component-tests-".padEnd(48, "k"),
    LOG_LEVEL: "WARNING",
    // every test registers and signs in from 127.0.0.1
    REGISTER_ATTEMPTS: "1000",
    LOGIN_ADDRESS_ATTEMPTS: "1000",
    WRITE_RATE_PER_MINUTE: "10000",
    // argon2id at its cheapest (development allows it): every test signs up and in, and at
    // the production cost (64 MiB, 3 passes, 4 lanes) each hash is 0.15 s of CPU
    PASSWORD_HASH_TIME_COST: "1",
    PASSWORD_HASH_MEMORY_KIB: "8",
    PASSWORD_HASH_PARALLELISM: "1",
  };
  for (const name of ["DATABASE_URL", "REDIS_URL", "CHECKPOINT_URL", "METRICS_PORT"]) delete childEnv[name];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete childEnv[name];
    else childEnv[name] = value;
  }
  const child = spawn(bin, ["serve", "--host", "127.0.0.1", "--port", String(port)], {
    cwd: dir,
    env: childEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const stop = async () => {
    child.stdout?.destroy();
    child.stderr?.destroy();
    child.kill("SIGTERM");
    await new Promise((r) => {
      if (child.exitCode !== null) r(null);
      child.once("exit", r);
      setTimeout(() => {
        child.kill("SIGKILL");
        r(null);
      }, 5_000).unref();
    });
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilUp(origin, child, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  return { origin, stop };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const api = await startApi();
  project.provide("apiOrigin", api.origin);
  return api.stop;
}
