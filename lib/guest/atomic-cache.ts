// A directory in a cache that is built once and then reused, safe against crashes half-way and
// against several processes asking for it at the same time.
//
// - The build happens in <root>/.<name>-build-<pid>-XXXXXX/ and is moved to <root>/<name>/ with one
//   rename(2), so <root>/<name>/ is either absent or complete.
// - A lock file <root>/<name>.lock keeps concurrent callers from building twice (they wait and then
//   use the result). The lock is only an optimisation: if it is ever broken wrongly, two builds
//   race to the rename, the loser sees the winner's complete directory and uses it.
// - A lock whose holder died (same host, pid gone) or that has not been refreshed for a minute is
//   broken; build dirs left by crashed processes are removed (at once if their pid is gone on this
//   host, otherwise after an hour).

import crypto from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";

export interface EnsureCachedDirOptions<T> {
  /** Directory holding the cache entry, its lock and its temporary build dirs. */
  root: string;
  /** Name of the entry: the result lives in <root>/<name>/. */
  name: string;
  /** Validates a candidate directory; returns the value to hand out, or null if absent/incomplete/outdated. */
  read: (dir: string) => Promise<T | null>;
  /** Fills `staging` (an empty directory on the same filesystem as <root>). */
  build: (staging: string) => Promise<void>;
  log?: (line: string) => void;
  /** How long to wait for another process's build before giving up. Default 20 min. */
  lockTimeoutMs?: number;
}

export class CacheLockTimeoutError extends Error {
  override readonly name = "CacheLockTimeoutError";
}

const LOCK_HEARTBEAT_MS = 5_000;
const LOCK_STALE_MS = 60_000;
const LOCK_POLL_MS = 200;
const LEFTOVER_MS = 60 * 60_000;

export async function ensureCachedDir<T>(o: EnsureCachedDirOptions<T>): Promise<T> {
  const root = path.resolve(o.root);
  const finalDir = path.join(root, o.name);
  const cached = await o.read(finalDir);
  if (cached !== null) return cached;

  const log = o.log ?? (() => {});
  await fs.mkdir(root, { recursive: true });
  const lockPath = path.join(root, `${o.name}.lock`);
  const stagingPrefix = `.${o.name}-build-`;

  return withLock(
    lockPath,
    log,
    o.lockTimeoutMs ?? 20 * 60_000,
    () => o.read(finalDir),
    async () => {
      // Someone may have finished between our first look and our taking the lock.
      const again = await o.read(finalDir);
      if (again !== null) return again;
      await removeLeftovers(root, [stagingPrefix, `.${o.name}-old-`], log);
      const staging = await fs.mkdtemp(path.join(root, `${stagingPrefix}${hostTag()}-${process.pid}-`));
      try {
        await fs.chmod(staging, 0o755); // mkdtemp makes it 0700; readers (e.g. QEMU) may be other users
        await o.build(staging);
        await fsyncDir(staging);
        return await install(staging, finalDir, root, o.name, o.read);
      } finally {
        await fs.rm(staging, { recursive: true, force: true }); // no-op once renamed
      }
    },
  );
}

/** Moves a finished staging dir into place; if another process won the race, uses its result. */
async function install<T>(
  staging: string,
  finalDir: string,
  root: string,
  name: string,
  read: (dir: string) => Promise<T | null>,
): Promise<T> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await fs.rename(staging, finalDir);
      await fsyncDir(root);
      const installed = await read(finalDir);
      if (installed === null) throw new Error(`freshly built ${finalDir} does not validate`);
      return installed;
    } catch (err) {
      if (!isErrno(err, "EEXIST", "ENOTEMPTY", "EISDIR", "ENOTDIR")) throw err;
    }
    const existing = await read(finalDir);
    if (existing !== null) return existing; // lost the race to an equivalent result: fine
    // An outdated or broken entry is in the way: move it aside (atomically), then retry.
    const aside = path.join(root, `.${name}-old-${hostTag()}-${process.pid}-${crypto.randomBytes(4).toString("hex")}`);
    try {
      await fs.rename(finalDir, aside);
    } catch (err) {
      if (!isErrno(err, "ENOENT")) throw err;
    }
    await fs.rm(aside, { recursive: true, force: true });
  }
  const existing = await read(finalDir);
  if (existing !== null) return existing;
  throw new Error(`could not move ${staging} into place at ${finalDir}`);
}

/** Host name made safe for a file name (leftover dirs are named <prefix><host>-<pid>-<random>). */
function hostTag(): string {
  return (
    os
      .hostname()
      .replace(/[^A-Za-z0-9.]/g, "_")
      .slice(0, 64) || "host"
  );
}

/**
 * Removes build dirs left by crashed builds (called while holding the lock): those of dead
 * processes on this host right away, any others after an hour.
 */
async function removeLeftovers(root: string, prefixes: string[], log: (line: string) => void): Promise<void> {
  const entries = await fs.readdir(root).catch(() => [] as string[]);
  for (const entry of entries) {
    const prefix = prefixes.find((p) => entry.startsWith(p));
    if (prefix === undefined) continue;
    const full = path.join(root, entry);
    const st = await fs.stat(full).catch(() => null);
    if (!st) continue;
    const owner = /^(.*)-(\d+)-[^-]+$/.exec(entry.slice(prefix.length));
    const ownerGone = owner?.[1] === hostTag() && !isProcessAlive(Number(owner[2]));
    if (!ownerGone && Date.now() - st.mtimeMs < LEFTOVER_MS) continue;
    log(`removing leftover ${full}`);
    // Best effort: an orphaned child of the crashed build (e.g. dpkg-deb) may still be writing there.
    await fs.rm(full, { recursive: true, force: true, maxRetries: 2 }).catch((err: unknown) => {
      log(`could not remove leftover ${full} yet: ${(err as Error).message}`);
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Lock file

interface LockInfo {
  pid: number;
  host: string;
  token: string;
  since: string;
}

async function withLock<T>(
  lockPath: string,
  log: (line: string) => void,
  timeoutMs: number,
  isDone: () => Promise<T | null>,
  fn: () => Promise<T>,
): Promise<T> {
  const me: LockInfo = {
    pid: process.pid,
    host: os.hostname(),
    token: crypto.randomBytes(8).toString("hex"),
    since: new Date().toISOString(),
  };
  const deadline = Date.now() + timeoutMs;
  let announced = false;

  for (;;) {
    try {
      const handle = await fs.open(lockPath, "wx");
      try {
        await handle.writeFile(JSON.stringify(me));
      } finally {
        await handle.close();
      }
      break;
    } catch (err) {
      if (!isErrno(err, "EEXIST")) throw err;
    }

    const holder = await inspectLock(lockPath);
    if (holder?.stale) {
      log(`breaking stale lock ${lockPath} (${holder.reason})`);
      await breakLock(lockPath, holder.raw);
      continue;
    }
    if (holder && !announced) {
      log(`waiting for another build to finish (lock ${lockPath}: ${holder.raw.trim() || "being written"})`);
      announced = true;
    }
    await sleep(LOCK_POLL_MS);
    const done = await isDone();
    if (done !== null) return done;
    if (Date.now() > deadline) {
      throw new CacheLockTimeoutError(
        `timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${lockPath}; if no build is running, delete that file`,
      );
    }
  }

  const heartbeat = setInterval(() => {
    const now = new Date();
    fs.utimes(lockPath, now, now).catch(() => {});
  }, LOCK_HEARTBEAT_MS);
  heartbeat.unref();
  try {
    return await fn();
  } finally {
    clearInterval(heartbeat);
    // Only remove the lock if it is still ours.
    const raw = await fs.readFile(lockPath, "utf8").catch(() => "");
    if (raw.includes(me.token)) await fs.rm(lockPath, { force: true });
  }
}

async function inspectLock(lockPath: string): Promise<{ raw: string; stale: boolean; reason: string } | null> {
  let raw: string;
  let mtimeMs: number;
  try {
    [raw, mtimeMs] = await Promise.all([fs.readFile(lockPath, "utf8"), fs.stat(lockPath).then((s) => s.mtimeMs)]);
  } catch (err) {
    if (isErrno(err, "ENOENT")) return null;
    throw err;
  }
  const age = Date.now() - mtimeMs;
  if (age > LOCK_STALE_MS) return { raw, stale: true, reason: `not refreshed for ${Math.round(age / 1000)} s` };
  let info: Partial<LockInfo>;
  try {
    info = JSON.parse(raw) as Partial<LockInfo>;
  } catch {
    return { raw, stale: false, reason: "" }; // being written right now (open and write are two steps)
  }
  if (info.host === os.hostname() && typeof info.pid === "number" && !isProcessAlive(info.pid)) {
    return { raw, stale: true, reason: `holder pid ${info.pid} is gone` };
  }
  return { raw, stale: false, reason: "" };
}

async function breakLock(lockPath: string, staleContent: string): Promise<void> {
  // Rename (atomic) rather than unlink, then check that what we moved is the lock we judged stale;
  // if another waiter already replaced it with a live lock, put that one back (link never clobbers).
  const aside = `${lockPath}.stale-${process.pid}-${crypto.randomBytes(4).toString("hex")}`;
  try {
    await fs.rename(lockPath, aside);
  } catch (err) {
    if (isErrno(err, "ENOENT")) return;
    throw err;
  }
  const moved = await fs.readFile(aside, "utf8").catch(() => staleContent);
  if (moved !== staleContent) await fs.link(aside, lockPath).catch(() => {});
  await fs.rm(aside, { force: true });
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return !isErrno(err, "ESRCH");
  }
}

function isErrno(err: unknown, ...codes: string[]): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && codes.includes(code);
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, "r").catch(() => null);
  if (!handle) return;
  try {
    await handle.sync();
  } catch {
    // some filesystems refuse fsync on directories
  } finally {
    await handle.close();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
