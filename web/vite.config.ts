/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The API serves the built app at / (same origin, strict CSP: no inline scripts or styles),
// so the app calls a relative /api/v1; `npm run dev` proxies /api to a local `infra-mind serve`.
export default defineConfig({
  plugins: [react()],
  server: {
    proxy: { "/api": { target: process.env.INFRA_MIND_API ?? "http://127.0.0.1:8000" } },
  },
  build: {
    outDir: "dist",
    target: "es2022",
    // no inline <script> for the module preload polyfill: every browser we target has it
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0, // no data: URLs (the CSP allows only the app's own origin)
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["test/setup.ts"],
    globalSetup: ["test/server.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
