// Playwright's web server: the product's start command with a database and data folder of this run's own,
// removed again when Playwright stops it.
import fs from "node:fs";
import { spawn } from "node:child_process";
import postgres from "postgres";
import { e2eRun } from "./support/run";

const dataDir = e2eRun.dataDir;
fs.mkdirSync(dataDir, { recursive: true });
const env: NodeJS.ProcessEnv = {
  ...process.env,
  PORT: String(e2eRun.port),
  HOST: "127.0.0.1",
  FAILBACK_DATA_DIR: dataDir,
  FAILBACK_ADMIN_PASSWORD: e2eRun.adminPassword,
  FAILBACK_EMBEDDED_PG_PORT: String(e2eRun.pgPort),
  // The foundation suites start from an empty estate.
  FAILBACK_LAB: "0",
  // Tight sign-in limits so the throttling test stays short.
  FAILBACK_SIGNIN_MAX_PER_ACCOUNT: "5",
};

const serverUrl = process.env.DATABASE_URL;
const databaseName = `failback_e2e_${e2eRun.id}`.toLowerCase().replace(/[^a-z0-9_]/g, "_");
let databaseUrl: string;
if (serverUrl) {
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${databaseName}"`);
  await admin.end();
  const u = new URL(serverUrl);
  u.pathname = `/${databaseName}`;
  databaseUrl = u.toString();
  env.DATABASE_URL = databaseUrl;
} else {
  // The embedded default, exactly as `npm start` runs it; the tests read its URL from the data folder.
  delete env.DATABASE_URL;
  databaseUrl = "";
}

const child = spawn(process.execPath, ["--import", "tsx", "scripts/start.ts"], { env, stdio: "inherit" });

async function cleanUp() {
  if (serverUrl) {
    const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`drop database if exists "${databaseName}" with (force)`).catch(() => {});
    await admin.end();
  }
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

if (databaseUrl) fs.writeFileSync(e2eRun.databaseFile, databaseUrl);
