// A VM's QEMU process: command line from vm.json, start (daemonized, so it outlives the Node process that
// started it), detection by pidfile + /proc, stop, the per-VM lock, and shared QMP connections.
//
// Block graph: every layer of every disk is its own -blockdev node with an explicit node name
// (nodeName(label, layer), e.g. "vda-base", "vda-failover"); each node's backing is the node of the layer below
// as vm.json lists it (the qcow2 headers are not followed). The top layer's node is attached to a virtio-blk
// device whose id is the disk label. So vm.json alone decides what QEMU sees, and QMP operations address
// layers by name.
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ensureGuestImage } from "@/lib/guest/build-guest";
import { ProviderError } from "../errors";
import { runTool } from "./exec";
import { QmpClient } from "./qmp";
import type { Site, VmConfig } from "./site";

export const QEMU_BINARY = "qemu-system-x86_64";
/** A VM without an OS needs no more (QEMU itself ≈ 35 MB RSS). */
export const NO_OS_MEMORY_MIB = 64;
/** The tiny guest's kernel + initramfs are unpacked in RAM; below this it may not boot. */
export const TINY_GUEST_MIN_MEMORY_MIB = 256;

export interface VmProcessOptions {
  /** Where the tiny guest's kernel/initrd are built and cached (the lab: <dataDir>/guest-cache). */
  guestCacheDir?: string;
  /** Progress lines (e.g. a first-time guest image build). */
  log?: (line: string) => void;
}

export function defaultGuestCacheDir(): string {
  return process.env.FAILBACK_GUEST_CACHE ?? path.join(os.tmpdir(), "failback-guest-cache");
}

// ---------------------------------------------------------------------------------------------
// Names and paths

/** QEMU node names: a letter first, then [A-Za-z0-9._-], at most 31 characters (we keep 2 for ".f"). */
const MAX_NODE_NAME = 29;

/** The QMP node name of a disk layer: "<label>-<layer>", shortened with a hash when too long. */
export function nodeName(label: string, layer: string): string {
  const plain = `${label}-${layer}`;
  if (plain.length <= MAX_NODE_NAME) return plain;
  const hash = createHash("sha256").update(layer).digest("hex").slice(0, 10);
  return `${label}-${layer.slice(0, MAX_NODE_NAME - label.length - 12)}-${hash}`;
}

/** The protocol (file) node under a layer's qcow2 node. */
export const fileNodeName = (label: string, layer: string) => `${nodeName(label, layer)}.f`;

/** The QOM path of the disk's block backend (for x-debug-query-block-graph and HMP `qemu-io -d`). */
export const diskBackendPath = (label: string) => `/machine/peripheral/${label}/virtio-backend`;

export interface RunPaths {
  runDir: string;
  pidFile: string;
  qmpSocket: string;
  serialSocket: string;
  serialLog: string;
  /** Present while a VM is paused by us (live merge pivot); tells a re-run to resume it. */
  pausedMarker: string;
}

/** sun_path holds 107 bytes; keep a margin. */
const MAX_SOCKET_PATH = 100;

export function runPaths(site: Site, vmId: string): RunPaths {
  // Absolute: QEMU -daemonize changes its working directory to "/".
  const runDir = path.resolve(site.runDir(vmId));
  // Long site paths cannot hold unix sockets: put those in a short per-VM directory under the temp dir.
  const socketDir =
    Buffer.byteLength(path.join(runDir, "serial.sock")) <= MAX_SOCKET_PATH
      ? runDir
      : path.join(os.tmpdir(), `fbq-${createHash("sha256").update(runDir).digest("hex").slice(0, 16)}`);
  return {
    runDir,
    pidFile: path.join(runDir, "qemu.pid"),
    qmpSocket: path.join(socketDir, "qmp.sock"),
    serialSocket: path.join(socketDir, "serial.sock"),
    serialLog: path.join(runDir, "serial.log"),
    pausedMarker: path.join(runDir, "paused-by-failback"),
  };
}

// ---------------------------------------------------------------------------------------------
// Is it running?

/** The pid of the VM's QEMU, or null. A stale pidfile (QEMU killed, pid reused, zombie) gives null. */
export function qemuPid(site: Site, vmId: string): number | null {
  const { pidFile } = runPaths(site, vmId);
  let text: string;
  try {
    text = fs.readFileSync(pidFile, "utf8");
  } catch {
    return null;
  }
  const pid = Number.parseInt(text.trim(), 10);
  return pid > 0 && isQemuWithPidfile(pid, pidFile) ? pid : null;
}

export function isRunning(site: Site, vmId: string): boolean {
  return qemuPid(site, vmId) !== null;
}

function isQemuWithPidfile(pid: number, pidFile: string): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    if (state === "Z" || state === "X") return false; // dead, waiting to be reaped
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    const i = argv.indexOf("-pidfile");
    return i >= 0 && argv[i + 1] === pidFile;
  } catch {
    return false;
  }
}

/** Removes what a QEMU that is no longer running left behind (pidfile, sockets, pause marker). */
export function cleanupStaleRunFiles(site: Site, vmId: string): void {
  if (isRunning(site, vmId)) return;
  const p = runPaths(site, vmId);
  for (const file of [p.pidFile, p.qmpSocket, p.serialSocket, p.pausedMarker]) fs.rmSync(file, { force: true });
}

export async function waitForPidExit(pid: number, pidFile: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isQemuWithPidfile(pid, pidFile)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(20);
  }
}

// ---------------------------------------------------------------------------------------------
// Command line and start

export interface GuestFiles {
  kernel: string;
  initrd: string;
}

/** QEMU's comma escaping for option values. */
const escapeOpt = (value: string) => value.replaceAll(",", ",,");

export function qemuArgs(site: Site, vmId: string, config: VmConfig, guest?: GuestFiles): string[] {
  const p = runPaths(site, vmId);
  const tiny = config.guest === "tiny";
  const memory = tiny ? Math.max(config.memoryMib, TINY_GUEST_MIN_MEMORY_MIB) : NO_OS_MEMORY_MIB;
  const args = [
    "-accel",
    "tcg",
    "-machine",
    "q35",
    "-nodefaults",
    "-display",
    "none",
    "-name",
    config.name.replaceAll(",", " "),
    "-m",
    String(memory),
    "-smp",
    String(config.cpus),
    "-qmp",
    `unix:${escapeOpt(p.qmpSocket)},server=on,wait=off`,
    "-pidfile",
    p.pidFile,
    "-daemonize",
  ];
  if (tiny) {
    if (!guest) throw new ProviderError("invalid", `VM ${vmId} needs the tiny guest image`);
    args.push(
      "-kernel",
      path.resolve(guest.kernel),
      "-initrd",
      path.resolve(guest.initrd),
      "-append",
      "console=ttyS0 quiet panic=-1",
      // panic=-1 + -no-reboot: a guest that panics makes QEMU exit instead of hanging.
      "-no-reboot",
      "-serial",
      "chardev:s0",
      "-chardev",
      `socket,id=s0,path=${escapeOpt(p.serialSocket)},server=on,wait=off,logfile=${escapeOpt(p.serialLog)}`,
    );
  }
  for (const disk of config.disks) {
    disk.layers.forEach((layer, i) => {
      const below = i > 0 ? disk.layers[i - 1] : undefined;
      args.push(
        "-blockdev",
        JSON.stringify({
          driver: "qcow2",
          "node-name": nodeName(disk.label, layer),
          file: {
            driver: "file",
            filename: path.resolve(site.layerFile(vmId, disk.label, layer)),
            "node-name": fileNodeName(disk.label, layer),
          },
          backing: below === undefined ? null : nodeName(disk.label, below),
        }),
      );
    });
    const top = disk.layers[disk.layers.length - 1] as string;
    args.push("-device", `virtio-blk-pci,drive=${nodeName(disk.label, top)},id=${disk.label}`);
  }
  return args;
}

/**
 * Starts the VM's QEMU (caller holds the VM lock and has checked it is not running). `-daemonize`: QEMU
 * forks, the parent exits once the VM is set up (QMP listening) and reports start-up errors; the VM
 * survives the Node process.
 */
export async function startVmProcess(
  site: Site,
  vmId: string,
  config: VmConfig,
  options: VmProcessOptions = {},
): Promise<number> {
  const p = runPaths(site, vmId);
  cleanupStaleRunFiles(site, vmId);
  fs.mkdirSync(p.runDir, { recursive: true });
  fs.mkdirSync(path.dirname(p.qmpSocket), { recursive: true });
  for (const disk of config.disks) {
    for (const layer of disk.layers) {
      const file = site.layerFile(vmId, disk.label, layer);
      if (!fs.existsSync(file)) throw new ProviderError("not_found", `layer file ${file} of VM ${vmId} is missing`);
    }
  }
  const guest =
    config.guest === "tiny"
      ? await ensureGuestImage(options.guestCacheDir ?? defaultGuestCacheDir(), { log: options.log })
      : undefined;
  await runTool(QEMU_BINARY, qemuArgs(site, vmId, config, guest), { timeoutMs: 60_000 });
  const pid = qemuPid(site, vmId);
  if (pid === null)
    throw new ProviderError("hypervisor", `QEMU for VM ${vmId} exited right after start`, undefined, true);
  return pid;
}

/**
 * Stops the VM's QEMU: QMP quit, SIGKILL if it has not exited after `quitTimeoutMs`. Returns false if it was
 * not running. Always leaves no stale run files.
 */
export async function stopVmProcess(
  site: Site,
  vmId: string,
  options: { quitTimeoutMs?: number } = {},
): Promise<boolean> {
  const pid = qemuPid(site, vmId);
  const { pidFile } = runPaths(site, vmId);
  if (pid === null) {
    cleanupStaleRunFiles(site, vmId);
    return false;
  }
  const quitTimeoutMs = options.quitTimeoutMs ?? 3_000;
  const deadline = Date.now() + quitTimeoutMs;
  try {
    // Short connect timeout: if another process holds the monitor we go straight to SIGKILL.
    await withQmp(site, vmId, (qmp) => qmp.execute("quit", undefined, { timeoutMs: quitTimeoutMs }), {
      connectTimeoutMs: Math.min(quitTimeoutMs, 2_000),
    });
  } catch {
    // QEMU may close the connection before answering; the pid check below decides.
  }
  if (!(await waitForPidExit(pid, pidFile, Math.max(0, deadline - Date.now())))) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
    if (!(await waitForPidExit(pid, pidFile, 5_000))) {
      throw new ProviderError("hypervisor", `QEMU pid ${pid} of VM ${vmId} survived SIGKILL`, undefined, true);
    }
  }
  cleanupStaleRunFiles(site, vmId);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Shared QMP connections

interface SharedQmp {
  client: Promise<QmpClient>;
  refs: number;
}

// QEMU's monitor serves one client at a time, so within this process all users of a VM share one connection
// (QMP matches replies by id; events reach every waiter). It is closed when the last user is done, leaving
// the monitor free for other processes.
const sharedQmp = new Map<string, SharedQmp>();

async function acquireQmp(
  socket: string,
  connectTimeoutMs: number,
): Promise<{ client: QmpClient; release: () => void }> {
  const release = (entry: SharedQmp) => () => {
    entry.refs--;
    if (entry.refs > 0) return;
    if (sharedQmp.get(socket) === entry) sharedQmp.delete(socket);
    void entry.client.then(
      (c) => c.close(),
      () => {},
    );
  };
  const existing = sharedQmp.get(socket);
  if (existing) {
    existing.refs++;
    try {
      const client = await existing.client;
      if (!client.isClosed) return { client, release: release(existing) };
    } catch (err) {
      release(existing)();
      throw err;
    }
    release(existing)(); // QEMU went away under it: connect afresh
    if (sharedQmp.get(socket) === existing) sharedQmp.delete(socket);
  }
  const entry: SharedQmp = { client: QmpClient.connect(socket, { timeoutMs: connectTimeoutMs }), refs: 1 };
  sharedQmp.set(socket, entry);
  try {
    return { client: await entry.client, release: release(entry) };
  } catch (err) {
    entry.refs--;
    if (sharedQmp.get(socket) === entry) sharedQmp.delete(socket);
    throw err;
  }
}

/** Runs `fn` with a QMP connection to the running VM (shared with other users in this process). */
export async function withQmp<T>(
  site: Site,
  vmId: string,
  fn: (qmp: QmpClient) => Promise<T>,
  options: { connectTimeoutMs?: number } = {},
): Promise<T> {
  if (!isRunning(site, vmId)) throw new ProviderError("hypervisor", `VM ${vmId} is not running`, undefined, true);
  const { client, release } = await acquireQmp(runPaths(site, vmId).qmpSocket, options.connectTimeoutMs ?? 15_000);
  try {
    return await fn(client);
  } finally {
    release();
  }
}

/**
 * The running VM's chain for a disk, as node names from the active (top) node down, from QEMU's block graph
 * (the block backend's root child, then backing children). null if the disk has no backend.
 */
export async function activeChainNodes(qmp: QmpClient, label: string): Promise<string[] | null> {
  interface Graph {
    nodes: { id: number; name: string; type: string }[];
    edges: { parent: number; child: number; name: string }[];
  }
  // x-debug-query-block-graph is the only QMP query that names backing children by node name (7.2).
  const graph = await qmp.execute<Graph>("x-debug-query-block-graph");
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const backend = graph.nodes.find((n) => n.type === "block-backend" && n.name === diskBackendPath(label));
  if (!backend) return null;
  const chain: string[] = [];
  let edge = graph.edges.find((e) => e.parent === backend.id && e.name === "root");
  while (edge) {
    const node = byId.get(edge.child);
    if (!node) break;
    chain.push(node.name);
    edge = graph.edges.find((e) => e.parent === node.id && e.name === "backing");
  }
  return chain;
}

/** Names of all named block nodes (including ones added but not attached). */
export async function namedNodes(qmp: QmpClient): Promise<Set<string>> {
  const nodes = await qmp.execute<{ "node-name": string }[]>("query-named-block-nodes", { flat: true });
  return new Set(nodes.map((n) => n["node-name"]));
}

/**
 * Runs a qemu-io command (e.g. "write -P 0xab 0 64k") on a running VM's disk through HMP, i.e. through the
 * guest-visible block backend: the write lands where the guest's own writes would (the top layer). Returns
 * qemu-io's output; a QEMU-side error (unknown device, I/O error, failed pattern check) throws.
 */
export async function qemuIoLive(site: Site, vmId: string, label: string, command: string): Promise<string> {
  if (command.includes('"')) throw new ProviderError("invalid", "qemu-io command must not contain double quotes");
  const output = await withQmp(site, vmId, (qmp) =>
    qmp.execute<string>("human-monitor-command", {
      "command-line": `qemu-io -d ${diskBackendPath(label)} "${command}"`,
    }),
  );
  if (/^Error|failed|error/im.test(output))
    throw new ProviderError("hypervisor", `qemu-io ${command} on ${vmId}/${label} failed`, output.trim());
  return output;
}

/**
 * Writes `length` bytes of `pattern` at `offset` into a running VM's disk and flushes (lab and tests): after the
 * flush, readers of the image files (qemu-img -U, a storage daemon) see the write, and it survives a SIGKILL.
 */
export async function writePatternLive(
  site: Site,
  vmId: string,
  label: string,
  offset: number,
  length: number,
  pattern: number,
): Promise<void> {
  await qemuIoLive(site, vmId, label, `write -P 0x${pattern.toString(16)} ${offset} ${length}`);
  await qemuIoLive(site, vmId, label, "flush");
}

// ---------------------------------------------------------------------------------------------
// Per-VM lock

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

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
