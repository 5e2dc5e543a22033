import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// The end-to-end run (`npm run e2e`): a real browser (Debian's chromium through
// playwright-core) against a real `infra-mind serve`; see e2e/README.md.
export default defineConfig({
  root: fileURLToPath(new URL("..", import.meta.url)),
  test: {
    include: ["e2e/**/*.e2e.ts"],
    environment: "node",
    globalSetup: ["e2e/setup.ts"],
    // one browser at a time: the files share the machine with the server they drive
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
