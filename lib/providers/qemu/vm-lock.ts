// The per-VM lock. Power, snapshot and create steps each change vm.json, layer files and QEMU in several moves,
// so two of them must never interleave on one VM, whether they run in this process or in another one.
import fs from "node:fs";
import path from "node:path";
import { ProviderError } from "../errors";
import type { Site } from "./site";
import { sleep } from "./sleep";

const inProcessLocks = new Map<string, Promise<void>>();

/**
 * Serialises mutating operations on one VM: in this process (a promise queue) and across processes (an
 * O_EXCL lock file <site>/vms/.locks/<vmId>.lock holding the owner's pid; a lock whose owner is dead is
 * taken over). Waiting for another process longer than `timeoutMs` fails with a transient "busy".
 */
export async function withVmLock<T>(
  site: Site,
  vmId: string,
  fn: () => Promise<T>,
  options: { timeoutMs?: number } = {},
): Promise<T> {
  const key = site.vmDir(vmId);
  const previous = inProcessLocks.get(key) ?? Promise.resolve();
  let releaseMine!: () => void;
  const mine = new Promise<void>((resolve) => (releaseMine = resolve));
  const queued = previous.then(() => mine);
  inProcessLocks.set(key, queued);
  await previous;
  try {
    const unlock = await acquireLockFile(
      path.join(site.dir, "vms", ".locks", `${vmId}.lock`),
      options.timeoutMs ?? 60_000,
    );
    try {
      return await fn();
    } finally {
      unlock();
    }
  } finally {
    releaseMine();
    if (inProcessLocks.get(key) === queued) inProcessLocks.delete(key);
  }
}

/** Like withVmLock, but only if the lock is free right now; otherwise `fn` is not run and `ran` is false. */
export async function tryWithVmLock<T>(
  site: Site,
  vmId: string,
  fn: () => Promise<T>,
): Promise<{ ran: true; value: T } | { ran: false }> {
  const key = site.vmDir(vmId);
  if (inProcessLocks.has(key)) return { ran: false };
  let releaseMine!: () => void;
  const mine = new Promise<void>((resolve) => (releaseMine = resolve));
  inProcessLocks.set(key, mine);
  try {
    let unlock: () => void;
    try {
      unlock = await acquireLockFile(path.join(site.dir, "vms", ".locks", `${vmId}.lock`), 0);
    } catch (err) {
      if (err instanceof ProviderError && err.kind === "busy") return { ran: false };
      throw err;
    }
    try {
      return { ran: true, value: await fn() };
    } finally {
      unlock();
    }
  } finally {
    releaseMine();
    if (inProcessLocks.get(key) === mine) inProcessLocks.delete(key);
  }
}

async function acquireLockFile(file: string, timeoutMs: number): Promise<() => void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: "wx" });
      return () => fs.rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const owner = Number.parseInt(readOrEmpty(file).trim(), 10);
    // No pid yet: the owner is between creating and writing the file (or crashed right there).
    const unreadable = !(owner > 0) && Date.now() - mtimeMs(file) > 5_000;
    // Our own pid can only be a leftover: within this process the queue above already serialises.
    if (unreadable || owner === process.pid || (owner > 0 && !pidAlive(owner))) {
      fs.rmSync(file, { force: true });
      continue;
    }
    if (Date.now() >= deadline) {
      throw new ProviderError("busy", `VM lock ${file} is held by process ${owner}`, undefined, true);
    }
    await sleep(50);
  }
}

function readOrEmpty(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

function mtimeMs(file: string): number {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
