import { defineConfig } from "@playwright/test";

// Values fixed once in the main process; workers inherit them through the environment.
process.env.FAILBACK_E2E_RUN ??= `${Date.now().toString(36)}_${process.pid}`;
process.env.FAILBACK_E2E_PORT ??= String(3100 + Math.floor(Math.random() * 800));
process.env.FAILBACK_E2E_ADMIN_PASSWORD ??= "e2e-admin-password-1";

const baseURL = `http://127.0.0.1:${process.env.FAILBACK_E2E_PORT}`;

export default defineConfig({
  testDir: "e2e",
  outputDir: "test-results/e2e",
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 60_000,
  reporter: [["list"], ["json", { outputFile: "test-results/playwright.json" }]],
  use: {
    baseURL,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      // Debian's Chromium: Playwright's own browser download is not available here.
      executablePath: process.env.FAILBACK_CHROMIUM ?? "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  webServer: {
    // `next start` on the production build, with a database of this run's own (e2e/serve.ts).
    command: "node --import tsx e2e/serve.ts",
    url: `${baseURL}/sign-in`,
    timeout: 240_000,
    reuseExistingServer: false,
    stdout: "pipe",
    stderr: "pipe",
    gracefulShutdown: { signal: "SIGTERM", timeout: 20_000 },
  },
});
