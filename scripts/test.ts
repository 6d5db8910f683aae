// `npm test`: every check the project has, in order — lint, formatting, typecheck, the build and what its server
// bundle holds, the libvirt host, unit and integration tests (vitest, real PostgreSQL, QEMU and libvirt), then
// end-to-end tests (Playwright in Debian Chromium against the product's server).
// Every stage runs even when an earlier one fails; the closing line sums up the tests.
import fs from "node:fs";
import { spawnSync } from "node:child_process";
import { ensureBuild } from "@/lib/server/ensure-build";
import { describeTracingWarnings } from "@/lib/server/tracing-warnings";
import { e2eRun } from "../e2e/support/run";
import { formatFailure, playwrightFailures, readJson, tailOf, vitestFailures } from "./test-failures";

interface Stage {
  name: string;
  ok: boolean;
  seconds: number;
}

const stages: Stage[] = [];
const bin = (name: string) => `node_modules/.bin/${name}`;

function run(name: string, command: string, args: string[]): boolean {
  console.log(`\n━━ ${name}: ${command} ${args.join(" ")}`);
  const started = Date.now();
  const result = spawnSync(command, args, { stdio: "inherit", env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" } });
  const ok = result.status === 0;
  stages.push({ name, ok, seconds: (Date.now() - started) / 1000 });
  return ok;
}

fs.rmSync("test-results", { recursive: true, force: true });
fs.mkdirSync("test-results/screens", { recursive: true });

run("lint", bin("eslint"), ["--max-warnings=0", "."]);
run("format", bin("prettier"), ["--check", "--log-level=warn", "."]);
run("typecheck", bin("tsc"), ["--noEmit"]);
// The start-command tests and Playwright serve the production build: make it current once, here. A build that
// traces the whole project still serves them, but fails the stage: the web tier reaches worker-side code.
const built = await (async () => {
  const started = Date.now();
  try {
    const { tracingWarnings } = await ensureBuild(process.cwd(), (line) => console.log(line));
    if (tracingWarnings.length > 0) console.error(describeTracingWarnings(tracingWarnings));
    stages.push({ name: "build", ok: tracingWarnings.length === 0, seconds: (Date.now() - started) / 1000 });
    return true;
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    stages.push({ name: "build", ok: false, seconds: (Date.now() - started) / 1000 });
    return false;
  }
})();
// The built server code must hold no worker-only module (each carries a sentinel string the check looks for).
if (built) run("web bundle boundary", process.execPath, ["--import", "tsx", "scripts/check-web-bundle.ts"]);
// The libvirt tests need libvirtd: bring it up here (install, configure, start) so `npm test` needs no setup
// step. A failed start fails this stage; the libvirt tests then fail under CI=true and skip elsewhere. The
// daemon stays up afterwards (a developer's machine keeps it); .ci/run stops what the script started.
run("libvirt host", "bash", ["scripts/libvirt-host.sh", "up"]);
run("unit and integration tests", bin("vitest"), [
  "run",
  "--reporter=default",
  "--reporter=json",
  "--outputFile.json=test-results/vitest.json",
]);
if (built) run("end-to-end tests", bin("playwright"), ["test"]);
// Everything the product's server and workers printed in the run: no password hash, token or secret.
if (built) run("secrets in the server log", process.execPath, ["--import", "tsx", "scripts/scan-secrets.ts"]);

const vitestReport = readJson("test-results/vitest.json");
const playwrightReport = readJson("test-results/playwright.json");
const vitest = vitestReport as Record<string, unknown> | undefined;
const playwright = (playwrightReport as { stats?: Record<string, number> } | undefined)?.stats;
const passed = Number(vitest?.numPassedTests ?? 0) + Number(playwright?.expected ?? 0);
const failed =
  Number(vitest?.numFailedTests ?? 0) + Number(playwright?.unexpected ?? 0) + Number(playwright?.flaky ?? 0);
const skipped =
  Number(vitest?.numPendingTests ?? 0) + Number(vitest?.numTodoTests ?? 0) + Number(playwright?.skipped ?? 0);

// Each failure again, at the end where a truncated log still shows it; for e2e, the server's last words too.
const vitestFailed = vitestFailures(vitestReport);
const e2eFailed = playwrightFailures(playwrightReport);
if (vitestFailed.length + e2eFailed.length > 0) {
  console.log("\n━━ failures");
  for (const failure of [...vitestFailed, ...e2eFailed]) console.log(formatFailure(failure));
}
if (e2eFailed.length > 0) {
  console.log(`\n━━ the e2e server's last lines (${e2eRun.serverLogFile})`);
  for (const line of tailOf(e2eRun.serverLogFile, 40)) console.log(`  ${line}`);
}

console.log("\n━━ summary");
for (const stage of stages)
  console.log(`  ${stage.ok ? "ok  " : "FAIL"}  ${stage.name} (${stage.seconds.toFixed(1)} s)`);
const allOk = stages.every((s) => s.ok) && stages.some((s) => s.name === "end-to-end tests");
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(allOk && failed === 0 ? 0 : 1);
