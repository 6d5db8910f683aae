// Playwright's web server: `next start` on the production build (made by `npm test` before Playwright runs),
// with a database and data folder of this run's own, prepared the way `npm start` prepares them (migrations,
// first admin), a small lab of real QEMU VMs in failover, and a failback worker in this process — all removed
// again when Playwright stops it.
import fs from "node:fs";
import path from "node:path";
import { spawn } from "node:child_process";
import { connect } from "@/lib/db/client";
import { startWorker } from "@/lib/engine/worker-main";
import { createLab } from "@/lib/lab/create-lab";
import { stopProcessesMentioning } from "@/lib/providers/qemu/processes";
import { bootstrapAdmin } from "@/lib/server/bootstrap-admin";
import { createTestDatabase } from "@/lib/testing/test-database";
import { e2eRun } from "./support/run";

const dataDir = e2eRun.dataDir;
fs.mkdirSync(dataDir, { recursive: true, mode: 0o755 });

// Everything the server and the worker print also goes to a file, whose end `npm test` shows when an e2e test
// fails: Playwright's own output interleaves it with the tests', and a CI log keeps only its tail.
fs.mkdirSync(path.dirname(e2eRun.serverLogFile), { recursive: true });
const serverLog = fs.createWriteStream(e2eRun.serverLogFile, { flags: "w" });

// A database of the run's own, exactly as the integration tests get theirs (migrated already).
const database = await createTestDatabase("failback_e2e");
const databaseUrl = database.url;
const setup = connect(databaseUrl, { max: 1 });
await bootstrapAdmin(setup.db, { email: e2eRun.adminEmail, password: e2eRun.adminPassword });
await setup.close();
fs.writeFileSync(e2eRun.databaseFile, databaseUrl);

// The lab: small VMs (one 16 MiB disk, no OS) replicated twice and failed over, with writes on both sides.
const guestCacheDir = path.join(dataDir, "guest-cache");
const labDb = connect(databaseUrl, { max: 2 });
await createLab({ db: labDb.db, labDir: path.join(dataDir, "lab"), guestCacheDir, size: "small", vms: e2eRun.labVms });
await labDb.close();

// A worker with short leases and polling, as the integration tests use.
const workerDb = connect(databaseUrl, { max: 6 });
const worker = await startWorker({
  db: workerDb.db,
  databaseUrl,
  settings: {
    leaseMs: 5000,
    stepAttempts: 2,
    retryDelayMs: 300,
    concurrency: 2,
    pollSeconds: 0.5,
    guestCacheDir,
    rangeBytes: 2 * 1024 * 1024,
    estimateEveryMs: 0,
  },
  log: (line) => {
    console.log(`[e2e worker] ${line}`);
    serverLog.write(`${new Date().toISOString()} [e2e worker] ${line}\n`);
  },
});

const env: NodeJS.ProcessEnv = {
  ...process.env,
  NODE_ENV: "production",
  DATABASE_URL: databaseUrl,
  FAILBACK_DATA_DIR: dataDir,
  // Tight sign-in limits keep the throttling paths short.
  FAILBACK_SIGNIN_MAX_PER_ACCOUNT: "5",
  // The worker runs in this process (above), not inside next start.
  FAILBACK_WORKER: "0",
  NEXT_TELEMETRY_DISABLED: "1",
};
const child = spawn(
  process.execPath,
  ["node_modules/next/dist/bin/next", "start", "-p", String(e2eRun.port), "-H", "127.0.0.1"],
  { env, stdio: ["ignore", "pipe", "pipe"] },
);
child.stdout.on("data", (chunk: Buffer) => (process.stdout.write(chunk), serverLog.write(chunk)));
child.stderr.on("data", (chunk: Buffer) => (process.stderr.write(chunk), serverLog.write(chunk)));

async function cleanUp() {
  await worker.stop().catch(() => {});
  await workerDb.close().catch(() => {});
  await stopProcessesMentioning(dataDir, 0).catch(() => 0);
  await database.drop().catch(() => {});
  fs.rmSync(dataDir, { recursive: true, force: true });
  await new Promise<void>((resolve) => serverLog.end(resolve));
}

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  child.kill("SIGTERM");
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
child.on("exit", async (code) => {
  await cleanUp();
  process.exit(stopping ? 0 : (code ?? 1));
});
