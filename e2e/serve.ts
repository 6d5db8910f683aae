// Playwright's web server: `next start` on the production build (made by `npm test` before Playwright runs),
// with a database and data folder of this run's own, prepared the way `npm start` prepares them (migrations,
// first admin) and removed again when Playwright stops it.
import fs from "node:fs";
import { spawn } from "node:child_process";
import { connect } from "@/lib/db/client";
import { bootstrapAdmin } from "@/lib/server/bootstrap-admin";
import { createTestDatabase } from "@/lib/testing/test-database";
import { e2eRun } from "./support/run";

const dataDir = e2eRun.dataDir;
fs.mkdirSync(dataDir, { recursive: true, mode: 0o755 });

// A database of the run's own, exactly as the integration tests get theirs (migrated already).
const database = await createTestDatabase("failback_e2e");
const databaseUrl = database.url;
const setup = connect(databaseUrl, { max: 1 });
await bootstrapAdmin(setup.db, { email: e2eRun.adminEmail, password: e2eRun.adminPassword });
await setup.close();
fs.writeFileSync(e2eRun.databaseFile, databaseUrl);

const env: NodeJS.ProcessEnv = {
  ...process.env,
  NODE_ENV: "production",
  DATABASE_URL: databaseUrl,
  FAILBACK_DATA_DIR: dataDir,
  // Tight sign-in limits keep the throttling paths short.
  FAILBACK_SIGNIN_MAX_PER_ACCOUNT: "5",
  NEXT_TELEMETRY_DISABLED: "1",
};
const child = spawn(process.execPath, ["node_modules/next/dist/bin/next", "start", "-p", String(e2eRun.port), "-H", "127.0.0.1"], { env, stdio: "inherit" });

async function cleanUp() {
  await database.drop().catch(() => {});
  fs.rmSync(dataDir, { recursive: true, force: true });
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
