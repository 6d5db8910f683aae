import path from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    alias: {
      "@": path.resolve(import.meta.dirname),
      // Tests import server modules outside Next.js, where "server-only" would throw: its server build is empty.
      "server-only": path.resolve(import.meta.dirname, "node_modules/server-only/empty.js"),
    },
  },
  test: {
    include: ["lib/**/*.test.ts", "lib/**/*.test.tsx", "scripts/**/*.test.ts"],
    globalSetup: ["lib/testing/vitest-global-setup.ts"],
    // Integration tests share one database per run; files run in parallel, each keeps to its own rows.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
  },
});
