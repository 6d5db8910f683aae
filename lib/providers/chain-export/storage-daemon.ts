// Starts and stops a qemu-storage-daemon that exports one qcow2 chain over NBD on a unix socket.
//
// Names are deterministic per export (`<runDir>/nbd-<export>.sock`, `.pid`, `.qmp`), so a process that crashed
// and restarted finds the daemon it left behind (stopLeftoverStorageDaemon) instead of starting a second one.
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { ProviderError } from "../errors";
import { CHAIN_EXPORT_SENTINEL } from "./boundary-sentinel";
import { fittingSocketPath } from "./socket-path";

/** Kept by every bundle that holds this module (see ./boundary-sentinel). */
export const chainExportFamily = CHAIN_EXPORT_SENTINEL;

export const exportNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** sun_path is 108 bytes including the terminating NUL: longer unix socket paths cannot be bound. */
const MAX_UNIX_SOCKET_PATH_BYTES = 107;
const DEFAULT_START_TIMEOUT_MS = 10_000;
const TERM_GRACE_MS = 5_000;
const KILL_GRACE_MS = 2_000;
const POLL_MS = 20;
/** The daemon listens ~30 ms after its start; every failback step and sync waits for that, so look often. */
const START_POLL_MS = 5;
const STDERR_LIMIT = 64 * 1024;

export interface StorageDaemonOptions {
  /** Absolute paths of the chain's qcow2 files, bottom → top. The export shows the top one. */
  files: readonly string[];
  runDir: string;
  exportName: string;
  /** Writes land in the top file only; every file below is opened read-only. */
  writable?: boolean;
  /** Persistent dirty bitmaps of the top file to export as `qemu:dirty-bitmap:<name>` meta contexts. */
  bitmaps?: readonly string[];
  /**
   * The files are backing files of a running QEMU (which may later want to write them, e.g. block-commit):
   * open them with force-share so neither side's image lock blocks the other. Read-only views only.
   */
  shareWithRunningVm?: boolean;
  startTimeoutMs?: number;
}

export interface StorageDaemonPaths {
  socketPath: string;
  pidFile: string;
  qmpSocket: string;
}

export interface StorageDaemon extends StorageDaemonPaths {
  readonly exportName: string;
  readonly pid: number;
  readonly writable: boolean;
  /** Resolves when the process has exited (for whatever reason). */
  readonly exited: Promise<void>;
  /** Everything the daemon wrote to stderr so far (capped). */
  stderr(): string;
  /** SIGTERM (clean close: bitmaps saved, in-use flags cleared), SIGKILL after a grace period; removes its files. */
  stop(): Promise<void>;
}

export function storageDaemonPaths(runDir: string, exportName: string): StorageDaemonPaths {
  if (!exportNamePattern.test(exportName))
    throw new ProviderError("invalid", `invalid NBD export name ${JSON.stringify(exportName)}`);
  const base = path.join(path.resolve(runDir), `nbd-${exportName}`);
  // The pid file stays with the VM, where leftovers are looked for; the sockets go where they fit.
  return {
    socketPath: fittingSocketPath(`${base}.sock`, "fbn"),
    pidFile: `${base}.pid`,
    qmpSocket: fittingSocketPath(`${base}.qmp`, "fbn"),
  };
}

/**
 * The daemon's command line. The blockdev graph is spelled out node by node (a file node and a qcow2 node per
 * layer, `backing` naming the layer below, `null` at the bottom) so that the view ends exactly at the given
 * files: qemu never follows backing-file names recorded in the images, and a view "below snapshot X" cannot
 * accidentally include X.
 */
export function storageDaemonArgs(options: StorageDaemonOptions, paths: StorageDaemonPaths): string[] {
  const { files, writable = false, shareWithRunningVm = false } = options;
  if (writable && shareWithRunningVm) {
    throw new ProviderError(
      "invalid",
      "a writable export cannot share its files with a running VM (force-share is read-only)",
    );
  }
  const args: string[] = [];
  files.forEach((file, index) => {
    const isTop = index === files.length - 1;
    const readOnly = !(writable && isTop);
    // force-share must be set on the file node as well: it is defined separately, so it inherits nothing.
    const share = shareWithRunningVm ? { "force-share": true } : {};
    const fileNode = { driver: "file", filename: file, "node-name": `file${index}`, "read-only": readOnly, ...share };
    const formatNode = {
      driver: "qcow2",
      file: `file${index}`,
      "node-name": `layer${index}`,
      backing: index === 0 ? null : `layer${index - 1}`,
      "read-only": readOnly,
      ...share,
    };
    args.push("--blockdev", JSON.stringify(fileNode), "--blockdev", JSON.stringify(formatNode));
  });
  args.push(
    "--nbd-server",
    JSON.stringify({ addr: { type: "unix", path: paths.socketPath } }),
    "--export",
    JSON.stringify({
      type: "nbd",
      id: "export0",
      "node-name": `layer${files.length - 1}`,
      name: options.exportName,
      writable,
      // A read-only export of an *enabled* bitmap is refused only when the node itself is writable; here a
      // read-only view has read-only nodes, so enabled bitmaps export fine (and are not marked in-use).
      ...(options.bitmaps && options.bitmaps.length > 0 ? { bitmaps: [...options.bitmaps] } : {}),
    }),
    "--chardev",
    `socket,id=monitor0,path=${paths.qmpSocket},server=on,wait=off`,
    "--monitor",
    "chardev=monitor0",
    "--pidfile",
    paths.pidFile,
  );
  return args;
}

function validate(options: StorageDaemonOptions, paths: StorageDaemonPaths): void {
  if (options.files.length === 0) throw new ProviderError("invalid", "a disk chain needs at least one file");
  for (const file of options.files) {
    if (!path.isAbsolute(file))
      throw new ProviderError("invalid", `chain file ${JSON.stringify(file)} is not an absolute path`);
    if (!fs.existsSync(file)) throw new ProviderError("not_found", `disk layer ${file} not found`);
  }
  if (
    Buffer.byteLength(paths.socketPath) > MAX_UNIX_SOCKET_PATH_BYTES ||
    Buffer.byteLength(paths.qmpSocket) > MAX_UNIX_SOCKET_PATH_BYTES
  ) {
    throw new ProviderError(
      "invalid",
      `run directory ${options.runDir} is too deep for a unix socket path (max ${MAX_UNIX_SOCKET_PATH_BYTES} bytes)`,
    );
  }
  // The monitor's --chardev uses qemu's key=value syntax, where a comma starts the next option (the JSON options
  // above have no such problem).
  if (paths.qmpSocket.includes(","))
    throw new ProviderError("invalid", `run directory ${options.runDir} must not contain a comma`);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Whether something accepts connections on the unix socket now (a daemon that listens, an SSH forward). */
export function socketAccepts(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.createConnection({ path: socketPath });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
    socket.setTimeout(1_000, () => done(false));
  });
}

function removeFiles(paths: StorageDaemonPaths): void {
  for (const file of [paths.socketPath, paths.pidFile, paths.qmpSocket]) fs.rmSync(file, { force: true });
}

/**
 * Starts the daemon and resolves once its NBD socket accepts connections. Rejects with a ProviderError carrying
 * the daemon's stderr if it exits early (bad image, lock held by another process, unknown bitmap), or after
 * `startTimeoutMs`. Does not look for leftovers: call stopLeftoverStorageDaemon first (disk-access does).
 */
/**
 * The daemon allocates a buffer per NBD request; by default glibc hands large ones back to the kernel and the
 * next request faults them in again — a third of the daemon's CPU. Keeping them (both thresholds are needed;
 * trim alone is slower) halved the daemons' CPU time in the data-plane benchmark.
 */
function daemonEnvironment(): NodeJS.ProcessEnv {
  const tunables = "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=67108864";
  const existing = process.env.GLIBC_TUNABLES;
  return { ...process.env, GLIBC_TUNABLES: existing ? `${existing}:${tunables}` : tunables };
}

export async function startStorageDaemon(options: StorageDaemonOptions): Promise<StorageDaemon> {
  const paths = storageDaemonPaths(options.runDir, options.exportName);
  validate(options, paths);
  const args = storageDaemonArgs(options, paths);
  fs.mkdirSync(path.dirname(paths.socketPath), { recursive: true });
  // A stale socket file would make the readiness probe below talk to nothing (ECONNREFUSED) or, worse, to a
  // daemon we do not know about; the caller has already stopped any leftover owner.
  removeFiles(paths);

  const child = spawn("qemu-storage-daemon", args, { stdio: ["ignore", "ignore", "pipe"], env: daemonEnvironment() });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    if (stderr.length < STDERR_LIMIT) stderr += chunk.toString();
  });
  let spawnError: NodeJS.ErrnoException | undefined;
  child.once("error", (err: NodeJS.ErrnoException) => (spawnError = err));
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("close", () => resolve());
  });
  const hasExited = () => child.exitCode !== null || child.signalCode !== null || spawnError !== undefined;

  const daemon: StorageDaemon = {
    ...paths,
    exportName: options.exportName,
    pid: child.pid ?? -1,
    writable: options.writable ?? false,
    exited,
    stderr: () => stderr,
    stop: () => stopChild(child, exited, paths),
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);
  for (;;) {
    if (spawnError) {
      const kind = spawnError.code === "ENOENT" ? "unsupported" : "hypervisor";
      throw new ProviderError(
        kind,
        "qemu-storage-daemon could not be started (Debian: apt-get install qemu-system-x86)",
        spawnError.message,
      );
    }
    if (hasExited()) {
      await exited; // all of stderr has arrived once the pipe is closed
      throw new ProviderError(
        classifyStartFailure(stderr),
        `qemu-storage-daemon for export ${options.exportName} exited during startup`,
        stderr.trim(),
      );
    }
    // Ready only once the pid file holds its pid: qemu-storage-daemon writes it after every export exists. The
    // socket alone is not enough — it listens before a later --export may still fail (an unknown bitmap).
    if (pidFileNames(paths.pidFile, child.pid) && (await socketAccepts(paths.socketPath))) return daemon;
    if (Date.now() > deadline) {
      await daemon.stop();
      throw new ProviderError(
        "hypervisor",
        `qemu-storage-daemon for export ${options.exportName} did not listen within the start timeout`,
        stderr.trim() || undefined,
        true,
      );
    }
    await sleep(START_POLL_MS);
  }
}

function pidFileNames(pidFile: string, pid: number | undefined): boolean {
  return pid !== undefined && readPidFile(pidFile) === pid;
}

/** The pid a daemon wrote into its pid file; undefined while there is none (or it is still being written). */
function readPidFile(pidFile: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(pidFile, "utf8").trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function classifyStartFailure(stderr: string): ProviderError["kind"] {
  if (/Failed to get .*lock|Is another process using the image/i.test(stderr)) return "busy";
  if (/No such file or directory/i.test(stderr)) return "not_found";
  if (/Bitmap '.*' is not found|inconsistent/i.test(stderr)) return "invalid";
  return "hypervisor";
}

async function stopChild(child: ChildProcess, exited: Promise<void>, paths: StorageDaemonPaths): Promise<void> {
  const running = () => child.exitCode === null && child.signalCode === null;
  if (running()) {
    child.kill("SIGTERM");
    if (!(await settlesWithin(exited, TERM_GRACE_MS)) && running()) {
      child.kill("SIGKILL");
      await settlesWithin(exited, KILL_GRACE_MS);
    }
  }
  removeFiles(paths);
}

async function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// ---- leftovers of a crashed process ----

/** Alive and not a zombie (an orphan whose parent never reaps it stays in /proc as state Z). */
function isProcessAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // Format: "pid (comm) S ..."; comm may contain spaces or parentheses, so find the state after the last ")".
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** Only a qemu-storage-daemon started for this very pid file: a recycled pid must never be killed. */
function isOurDaemon(pid: number, pidFile: string): boolean {
  try {
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return path.basename(argv[0] ?? "") === "qemu-storage-daemon" && argv.includes(pidFile);
  } catch {
    return false;
  }
}

function findLeftoverPids(pidFile: string): number[] {
  const pids = new Set<number>();
  // Its pid file, when it wrote one (it may have died before that, or never existed).
  const fromFile = readPidFile(pidFile);
  if (fromFile !== undefined) pids.add(fromFile);
  // The pid file is written after startup: a daemon killed with its parent while starting has none. Its command
  // line still names the pid file, so a scan of /proc finds it.
  for (const entry of fs.readdirSync("/proc")) {
    if (/^\d+$/.test(entry)) pids.add(Number(entry));
  }
  return [...pids].filter((pid) => pid !== process.pid && isOurDaemon(pid, pidFile) && isProcessAlive(pid));
}

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (isProcessAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(POLL_MS);
  }
  return true;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
  }
}

/**
 * Stops a daemon left behind for this export (by a crashed process, or a handle nobody closed) and removes its
 * files, so the next start never competes with it for the socket or the image locks. Returns the pids stopped.
 */
export async function stopLeftoverStorageDaemon(runDir: string, exportName: string): Promise<number[]> {
  const paths = storageDaemonPaths(runDir, exportName);
  const pids = findLeftoverPids(paths.pidFile);
  for (const pid of pids) {
    signal(pid, "SIGTERM");
    if (!(await waitForExit(pid, TERM_GRACE_MS))) {
      signal(pid, "SIGKILL");
      if (!(await waitForExit(pid, KILL_GRACE_MS))) {
        throw new ProviderError(
          "hypervisor",
          `leftover qemu-storage-daemon ${pid} for export ${exportName} does not exit`,
          undefined,
          true,
        );
      }
    }
  }
  removeFiles(paths);
  return pids;
}
