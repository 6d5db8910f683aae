// `npm start`: the product on one command. Embedded PostgreSQL unless DATABASE_URL is set, migrations,
// the first admin, then the web app on HOST:PORT.
import path from "node:path";
import { ConfigError, loadConfig, masterKey } from "@/lib/config";
import { connect } from "@/lib/db/client";
import { startEmbeddedPostgres, type EmbeddedServer } from "@/lib/db/embedded";
import { applyMigrations } from "@/lib/db/migrate";
import type { Worker } from "@/lib/engine/worker-main";
import { labRemovedByUser, readLabState } from "@/lib/lab/lab-state";
import { bootstrapAdmin } from "@/lib/server/bootstrap-admin";
import { ensureBuild } from "@/lib/server/ensure-build";
import { startWebServer, type WebServer } from "@/lib/server/http-server";
import { acquireRunLock } from "@/lib/server/run-lock";

const log = (line: string) => console.log(`[failback] ${line}`);

async function main() {
  const cfg = loadConfig();
  const dev = process.env.FAILBACK_DEV === "1";
  const projectDir = process.cwd();
  const releaseLock = acquireRunLock(cfg.dataDir, "scripts/start.ts");
  masterKey(cfg); // generated into the data folder on first start when FAILBACK_SECRET_KEY is unset

  // What is running, for a clean stop on SIGINT/SIGTERM.
  const running: { embedded?: EmbeddedServer; web?: WebServer; worker?: Worker; closeWorkerDb?: () => Promise<void> } =
    {};
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping…`);
    await running.web?.close().catch(() => {});
    await running.worker?.stop().catch(() => {});
    await running.closeWorkerDb?.().catch(() => {});
    await running.embedded?.stop().catch(() => {});
    releaseLock();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));

  let databaseUrl = cfg.databaseUrl;
  if (!databaseUrl) {
    const dir = path.join(cfg.dataDir, "postgres");
    log(`No DATABASE_URL: starting the embedded PostgreSQL (data in ${dir}, port ${cfg.embeddedPostgresPort})`);
    running.embedded = await startEmbeddedPostgres({ dir, port: cfg.embeddedPostgresPort, log });
    databaseUrl = running.embedded.url;
    // The web app reads DATABASE_URL through lib/config in this same process.
    process.env.DATABASE_URL = databaseUrl;
  }
  await applyMigrations(databaseUrl);
  log("Database schema is up to date.");

  const database = connect(databaseUrl, { max: 2 });
  try {
    const admin = await bootstrapAdmin(database.db, { email: cfg.adminEmail, password: cfg.adminPassword });
    if (admin?.generatedPassword) {
      console.log(
        `\n  First start: created the admin account.\n    email:    ${admin.email}\n    password: ${admin.generatedPassword}\n` +
          `  This password is shown only once. Sign in and keep it safe (or set FAILBACK_ADMIN_PASSWORD before the first start).\n`,
      );
    } else if (admin) {
      log(`Created the admin account ${admin.email} with the password from FAILBACK_ADMIN_PASSWORD.`);
    }
  } finally {
    await database.close();
  }

  // The worker's code loads while the web app starts (it is not part of the web app's own code).
  const workerModule = cfg.engine.inProcessWorker ? import("@/lib/engine/worker-main") : null;
  workerModule?.catch(() => {}); // a failed load is reported where it is awaited, not as an unhandled rejection
  if (!dev) await ensureBuild(projectDir, log);
  running.web = await startWebServer({
    dir: projectDir,
    host: cfg.host,
    port: cfg.port,
    dev,
    trustProxy: cfg.trustProxy,
  });
  log(`Ready: ${running.web.url}`);

  // The embedded default runs the failback workers in this process; `npm run worker` adds more anywhere. With
  // FAILBACK_WORKER=0 this process is only the web tier: it loads no worker code and drives no hypervisor.
  if (workerModule && !stopping) {
    const { engineSettingsFromConfig, startWorker } = await workerModule;
    const workerDb = connect(databaseUrl, {
      max: cfg.engine.concurrency + 3,
      idleInTransactionTimeoutMs: cfg.engine.leaseSeconds * 1000,
    });
    running.closeWorkerDb = workerDb.close;
    // A stop that arrives while the worker starts (its code loads after the web is ready) wins: the start's
    // failure against the closing database is then no error of the product's.
    const worker = await startWorker({
      db: workerDb.db,
      databaseUrl,
      settings: engineSettingsFromConfig(),
      log: (line) => log(`worker: ${line}`),
    }).catch((err: unknown) => {
      if (stopping) return undefined;
      throw err;
    });
    if (stopping) await worker?.stop().catch(() => {});
    else running.worker = worker;
  }

  // A newcomer should see replicas with real differences: build the lab once, in the background, while the
  // app already serves (the replicas page fills in as VMs are recorded). FAILBACK_LAB=0 turns this off.
  const labWanted =
    cfg.lab.createOnStart && readLabState(cfg.lab.dir)?.state !== "ready" && !labRemovedByUser(cfg.lab.dir);
  if (labWanted && !cfg.engine.inProcessWorker) {
    log("Not creating the lab: this process runs no worker (FAILBACK_WORKER=0); `npm run lab -- create` builds it.");
  } else if (labWanted) {
    const { createLab } = await import("@/lib/lab/create-lab");
    log(
      `Creating the lab (${cfg.lab.size}) in ${cfg.lab.dir}; set FAILBACK_LAB=0 to skip. \`npm run lab -- reset\` removes it.`,
    );
    const labDatabase = connect(databaseUrl, { max: 2 });
    createLab({
      db: labDatabase.db,
      labDir: cfg.lab.dir,
      guestCacheDir: cfg.guestCacheDir,
      size: cfg.lab.size,
      log: (line) => log(`lab: ${line}`),
    })
      .catch((err: unknown) =>
        log(
          `lab: could not be created: ${err instanceof Error ? err.message : String(err)} (retry: npm run lab -- create)`,
        ),
      )
      .finally(() => void labDatabase.close());
  }
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(`[failback] ${err.message}\nSee .env.example for every setting.`);
  else console.error(`[failback] Could not start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
