// Snapshots of a qemu-site VM as qcow2 layers (see README.md for the step order and its crash analysis).
//
// A snapshot named X is a layer X on every disk: the layers below X are the disk frozen at the moment X was
// made, X holds every write since. Ensure = add X on top; keep changes = merge X into the layer below;
// discard = drop X (top only, VM off). vm.json's layer list is the truth; the files and QEMU's block graph
// follow it, and reconcileVmLocked() brings them back in line after a crash at any step.
//
// Files in a disk folder: <layer>.qcow2 (a layer), <layer>.qcow2.tmp (being created: never in use, deleted on
// sight), <layer>.qcow2.trash (being removed: its data step is complete, so finishing the removal is safe).
import fs from "node:fs";
import path from "node:path";
import { ProviderError } from "../errors";
import type { SnapshotInfo, SnapshotKind } from "../types";
import { qemuImg } from "./exec";
import type { QmpClient, QmpEvent } from "./qmp";
import { layerNamePattern, type Site, type VmConfig } from "./site";
import {
  activeChainNodes,
  cleanupStaleRunFiles,
  isRunning,
  namedNodes,
  nodeName,
  runPaths,
  withQmp,
  withVmLock,
} from "./vm-process";

export interface SnapshotOptions {
  /** Limit for one commit (qemu-img commit or a live block-commit job). Default 1 h. */
  jobTimeoutMs?: number;
}

const DEFAULT_JOB_TIMEOUT_MS = 3_600_000;

// ---------------------------------------------------------------------------------------------
// Public operations

/** Adds layer `name` on top of every disk (live via QMP when the VM runs). Listed already → no-op. */
export async function ensureSnapshot(site: Site, vmId: string, name: string, kind: SnapshotKind): Promise<void> {
  checkLayerName(name);
  await withVmLock(site, vmId, async () => {
    await reconcileOrThrow(site, vmId);
    let config = site.readConfig(vmId);
    const missing = config.disks.filter((d) => !d.layers.includes(name));
    if (config.snapshotKinds?.[name] === undefined) {
      // Recorded before any file exists, so a layer adopted after a crash keeps its kind.
      config = { ...config, snapshotKinds: { ...config.snapshotKinds, [name]: kind } };
      site.writeConfig(vmId, config);
    }
    if (missing.length === 0) return;
    if (isRunning(site, vmId)) await ensureLive(site, vmId, name, missing);
    else await ensureOffline(site, vmId, name, missing);
  });
}

/**
 * Merges layer `name` into the layer below it on every disk and removes it (working: commit into the disks;
 * protective: merge back). Works for the top layer and for a middle one, VM running or off. Gone → no-op.
 */
export async function removeSnapshotKeepingChanges(
  site: Site,
  vmId: string,
  name: string,
  options: SnapshotOptions = {},
): Promise<void> {
  checkLayerName(name);
  const jobTimeoutMs = options.jobTimeoutMs ?? DEFAULT_JOB_TIMEOUT_MS;
  await withVmLock(site, vmId, async () => {
    await reconcileOrThrow(site, vmId);
    const config = site.readConfig(vmId);
    const disks = config.disks.filter((d) => d.layers.includes(name));
    for (const disk of disks) {
      if (disk.layers[0] === name)
        throw new ProviderError("invalid", `${name} is the bottom layer of ${vmId}/${disk.label}, not a snapshot`);
    }
    for (const disk of disks) {
      if (isRunning(site, vmId)) await mergeLive(site, vmId, disk.label, name, jobTimeoutMs);
      else await mergeOffline(site, vmId, disk.label, name, jobTimeoutMs);
    }
    dropKindIfUnused(site, vmId, name);
  });
}

/**
 * Drops layer `name` and its writes (working: discard the delta; protective: revert to the snapshot). Only the
 * top layer, only with the VM off ("busy" while it runs: power it off first). Gone → no-op.
 */
export async function removeSnapshotDiscardingChanges(site: Site, vmId: string, name: string): Promise<void> {
  checkLayerName(name);
  await withVmLock(site, vmId, async () => {
    await reconcileOrThrow(site, vmId);
    const config = site.readConfig(vmId);
    const disks = config.disks.filter((d) => d.layers.includes(name));
    if (disks.length === 0) return;
    for (const disk of disks) {
      const index = disk.layers.indexOf(name);
      if (index === 0)
        throw new ProviderError("invalid", `${name} is the bottom layer of ${vmId}/${disk.label}, not a snapshot`);
      if (index !== disk.layers.length - 1) {
        throw new ProviderError(
          "invalid",
          `snapshot ${name} of ${vmId}/${disk.label} has later layers above it (${disk.layers.slice(index + 1).join(", ")}): remove those first`,
        );
      }
    }
    if (isRunning(site, vmId))
      throw new ProviderError(
        "busy",
        `VM ${vmId} is running: power it off before reverting snapshot ${name}`,
        undefined,
        false,
      );
    for (const disk of disks) retireLayer(site, vmId, disk.label, name);
    dropKindIfUnused(site, vmId, name);
  });
}

/** Every layer above each disk's bottom layer, bottom → top, with the disks that have it. */
export async function listSnapshots(site: Site, vmId: string): Promise<SnapshotInfo[]> {
  const config = site.readConfig(vmId);
  const byName = new Map<string, SnapshotInfo>();
  for (const disk of config.disks) {
    for (const layer of disk.layers.slice(1)) {
      let info = byName.get(layer);
      if (!info) {
        info = { name: layer, kind: config.snapshotKinds?.[layer] ?? "other", disks: [] };
        byName.set(layer, info);
      }
      info.disks.push(disk.label);
    }
  }
  return [...byName.values()];
}

export interface ReconcileReport {
  vmId: string;
  /** What was fixed (finished or cleaned up). */
  actions: string[];
  /** What could not be fixed automatically; snapshot operations refuse to run until it is resolved. */
  problems: string[];
}

/**
 * Brings files, QEMU's block graph and vm.json back in line after a crash at any step of a snapshot operation
 * (the engine calls it at start-up; every snapshot operation and powerOn run it first).
 */
export function reconcileVm(site: Site, vmId: string): Promise<ReconcileReport> {
  return withVmLock(site, vmId, () => reconcileVmLocked(site, vmId));
}

// ---------------------------------------------------------------------------------------------
// Ensure

async function ensureOffline(site: Site, vmId: string, name: string, disks: VmConfig["disks"]): Promise<void> {
  for (const disk of disks) {
    const top = topLayer(disk);
    await createOverlayFile(site, vmId, disk.label, top, name, disk.sizeBytes);
    // vm.json right after the file appears: a crash in between leaves an unlisted file over the top layer,
    // which reconcile adopts.
    updateDisk(site, vmId, disk.label, (layers) => [...layers, name]);
  }
}

async function ensureLive(site: Site, vmId: string, name: string, disks: VmConfig["disks"]): Promise<void> {
  await withQmp(site, vmId, async (qmp) => {
    const actions: { type: "blockdev-snapshot"; data: { node: string; overlay: string } }[] = [];
    for (const disk of disks) {
      const top = topLayer(disk);
      const overlay = nodeName(disk.label, name);
      await createOverlayFile(site, vmId, disk.label, top, name, disk.sizeBytes);
      await qmp.execute("blockdev-add", {
        driver: "qcow2",
        "node-name": overlay,
        file: {
          driver: "file",
          filename: path.resolve(site.layerFile(vmId, disk.label, name)),
          "node-name": `${overlay}.f`,
        },
        backing: null, // attached by blockdev-snapshot
      });
      actions.push({ type: "blockdev-snapshot", data: { node: nodeName(disk.label, top), overlay } });
    }
    // One transaction: all disks switch to their overlays at the same instant (crash-consistent across disks).
    await qmp.execute("transaction", { actions });
  });
  const labels = new Set(disks.map((d) => d.label));
  const config = site.readConfig(vmId);
  site.writeConfig(vmId, {
    ...config,
    disks: config.disks.map((d) => (labels.has(d.label) ? { ...d, layers: [...d.layers, name] } : d)),
  });
}

/** `<name>.qcow2` over `<below>.qcow2`, made under a temp name and renamed, so it never exists half-made. */
async function createOverlayFile(
  site: Site,
  vmId: string,
  label: string,
  below: string,
  name: string,
  sizeBytes: number,
): Promise<void> {
  const file = site.layerFile(vmId, label, name);
  const tmp = `${file}.tmp`;
  fs.rmSync(tmp, { force: true });
  // -u with an explicit size: no need to open the backing file, which a running QEMU holds locked. The backing
  // name is relative (same folder), so the chain stays valid if the site moves.
  await qemuImg(["create", "-q", "-f", "qcow2", "-u", "-b", `${below}.qcow2`, "-F", "qcow2", tmp, String(sizeBytes)]);
  fs.renameSync(tmp, file);
  fsyncDir(path.dirname(file));
}

// ---------------------------------------------------------------------------------------------
// Merge (keep changes)

async function mergeOffline(
  site: Site,
  vmId: string,
  label: string,
  name: string,
  jobTimeoutMs: number,
): Promise<void> {
  const layers = diskOf(site.readConfig(vmId), label).layers;
  const index = layers.indexOf(name);
  const below = layers[index - 1] as string;
  const above = layers[index + 1];
  const file = site.layerFile(vmId, label, name);
  // Re-running the commit after a crash is harmless: nothing writes `below` while `name` is listed above it.
  await qemuImg(["commit", "-q", "-d", "-f", "qcow2", file], { timeoutMs: jobTimeoutMs });
  if (above !== undefined) {
    await qemuImg([
      "rebase",
      "-q",
      "-u",
      "-f",
      "qcow2",
      "-b",
      `${below}.qcow2`,
      "-F",
      "qcow2",
      site.layerFile(vmId, label, above),
    ]);
  }
  retireLayer(site, vmId, label, name);
}

async function mergeLive(site: Site, vmId: string, label: string, name: string, jobTimeoutMs: number): Promise<void> {
  const layers = diskOf(site.readConfig(vmId), label).layers;
  const index = layers.indexOf(name);
  const below = layers[index - 1] as string;
  const node = nodeName(label, name);
  const jobId = `fb-commit-${node}`;
  const { pausedMarker } = runPaths(site, vmId);
  try {
    await withQmp(site, vmId, async (qmp) => {
      const chain = (await activeChainNodes(qmp, label)) ?? [];
      if (!chain.includes(node)) return; // merged already by a crashed attempt; reconcile finishes the books
      const active = chain[0] === node;
      const since = qmp.mark();
      const jobs = await qmp.execute<{ device: string; ready: boolean }[]>("query-block-jobs");
      const existing = jobs.find((j) => j.device === jobId); // left running by a crashed attempt
      if (!existing) {
        await qmp.execute("block-commit", {
          "job-id": jobId,
          device: chain[0],
          "base-node": nodeName(label, below),
          // A middle layer: the job ends by itself and rewrites the layer above to point at `below`.
          ...(active ? {} : { "top-node": node, "backing-file": `${below}.qcow2` }),
        });
      }
      if (!active) {
        await waitForJob(qmp, jobId, "BLOCK_JOB_COMPLETED", since, jobTimeoutMs);
        return;
      }
      if (!existing?.ready) await waitForJob(qmp, jobId, "BLOCK_JOB_READY", since, jobTimeoutMs);
      // Pause the guest across the pivot until vm.json says `below` is the top: a crash in that window must
      // not leave guest writes in `below` that a re-run of the commit would overwrite with older data.
      const { status } = await qmp.execute<{ status: string }>("query-status");
      if (status === "running") {
        fs.writeFileSync(pausedMarker, `${jobId}\n`);
        await qmp.execute("stop");
      }
      const completeSince = qmp.mark();
      await qmp.execute("block-job-complete", { device: jobId });
      await waitForJob(qmp, jobId, "BLOCK_JOB_COMPLETED", completeSince, jobTimeoutMs);
    });
  } catch (err) {
    // If the pivot happened before the failure, reconcile records it and resumes a VM we paused; if not,
    // the guest keeps running on the old chain and a retry starts over.
    await reconcileVmLocked(site, vmId).catch(() => {});
    throw err;
  }
  // Out of QEMU's chain now: reconcile drops the node, retires the file, updates vm.json, resumes the guest.
  const report = await reconcileVmLocked(site, vmId);
  if (diskOf(site.readConfig(vmId), label).layers.includes(name)) {
    throw new ProviderError(
      "hypervisor",
      `live merge of ${name} on ${vmId}/${label} did not take effect`,
      report.problems.join("; "),
      true,
    );
  }
}

/** Waits for `event` of job `jobId`; a job that ends with an error (or is cancelled) throws. */
async function waitForJob(
  qmp: QmpClient,
  jobId: string,
  event: "BLOCK_JOB_READY" | "BLOCK_JOB_COMPLETED",
  since: number,
  timeoutMs: number,
): Promise<void> {
  const ofJob = (e: QmpEvent) => e.data?.device === jobId;
  const ended = await qmp.waitForEvent([event, "BLOCK_JOB_COMPLETED", "BLOCK_JOB_CANCELLED"], ofJob, timeoutMs, {
    since,
  });
  if (ended.event === "BLOCK_JOB_CANCELLED")
    throw new ProviderError("hypervisor", `block job ${jobId} was cancelled`, undefined, true);
  if (typeof ended.data?.error === "string")
    throw new ProviderError("hypervisor", `block job ${jobId} failed`, ended.data.error);
  if (ended.event !== event) throw new ProviderError("hypervisor", `block job ${jobId} ended before ${event}`);
}

async function resumeIfPausedByUs(site: Site, vmId: string): Promise<boolean> {
  const { pausedMarker } = runPaths(site, vmId);
  if (!fs.existsSync(pausedMarker)) return false;
  if (isRunning(site, vmId)) {
    await withQmp(site, vmId, async (qmp) => {
      const { status } = await qmp.execute<{ status: string }>("query-status");
      if (status === "paused") await qmp.execute("cont");
    });
  }
  fs.rmSync(pausedMarker, { force: true });
  return true;
}

// ---------------------------------------------------------------------------------------------
// Removing a layer from the books

/**
 * The last steps of every removal, once its data step is complete: rename the file to .trash, drop the layer
 * from vm.json, delete the trash. A crash after the rename leaves "listed, file missing, trash present", which
 * reconcile finishes; the rename also keeps a half-removed file from ever looking like a new, unlisted layer.
 */
function retireLayer(site: Site, vmId: string, label: string, name: string): void {
  const file = site.layerFile(vmId, label, name);
  if (fs.existsSync(file)) {
    fs.renameSync(file, `${file}.trash`);
    fsyncDir(path.dirname(file));
  }
  updateDisk(site, vmId, label, (layers) => layers.filter((l) => l !== name));
  fs.rmSync(`${file}.trash`, { force: true });
}

function dropKindIfUnused(site: Site, vmId: string, name: string): void {
  const config = site.readConfig(vmId);
  if (config.snapshotKinds?.[name] === undefined || config.disks.some((d) => d.layers.includes(name))) return;
  const kinds = { ...config.snapshotKinds };
  delete kinds[name];
  site.writeConfig(vmId, { ...config, snapshotKinds: kinds });
}

// ---------------------------------------------------------------------------------------------
// Reconcile

async function reconcileOrThrow(site: Site, vmId: string): Promise<void> {
  const report = await reconcileVmLocked(site, vmId);
  if (report.problems.length > 0) {
    throw new ProviderError("invalid", `VM ${vmId} has inconsistent disk layers`, report.problems.join("; "));
  }
}

/** reconcileVm for a caller that already holds the VM lock. */
export async function reconcileVmLocked(site: Site, vmId: string): Promise<ReconcileReport> {
  const report: ReconcileReport = { vmId, actions: [], problems: [] };
  const running = isRunning(site, vmId);
  if (!running) {
    const { pidFile, pausedMarker } = runPaths(site, vmId);
    if (fs.existsSync(pidFile)) report.actions.push("removed the run files of a QEMU that is gone");
    cleanupStaleRunFiles(site, vmId);
    fs.rmSync(pausedMarker, { force: true });
  }
  for (const label of site.readConfig(vmId).disks.map((d) => d.label)) {
    finishInterruptedRemovals(site, vmId, label, report);
    if (running) await withQmp(site, vmId, (qmp) => reconcileDiskLive(site, vmId, label, qmp, report));
    else await reconcileDiskOffline(site, vmId, label, report);
  }
  if (running && (await resumeIfPausedByUs(site, vmId))) report.actions.push("resumed the VM paused for a live merge");
  return report;
}

/** Temp files, and removals that got as far as the .trash rename. */
function finishInterruptedRemovals(site: Site, vmId: string, label: string, report: ReconcileReport): void {
  const dir = site.diskDir(vmId, label);
  for (const entry of listDir(dir)) {
    if (entry.endsWith(".qcow2.tmp")) {
      fs.rmSync(path.join(dir, entry), { force: true });
      report.actions.push(`${label}: removed temp file ${entry} of an interrupted create`);
    }
  }
  for (const layer of diskOf(site.readConfig(vmId), label).layers) {
    const file = site.layerFile(vmId, label, layer);
    if (fs.existsSync(file)) continue;
    if (fs.existsSync(`${file}.trash`)) {
      retireLayer(site, vmId, label, layer);
      report.actions.push(`${label}: finished the interrupted removal of layer ${layer}`);
    } else {
      report.problems.push(`${label}: layer ${layer} is listed but ${file} is missing`);
    }
  }
  const listed = new Set(diskOf(site.readConfig(vmId), label).layers);
  for (const entry of listDir(dir)) {
    const layer = entry.endsWith(".qcow2.trash") ? entry.slice(0, -".qcow2.trash".length) : null;
    if (layer !== null && !listed.has(layer)) {
      fs.rmSync(path.join(dir, entry), { force: true });
      report.actions.push(`${label}: removed ${entry} left by an interrupted removal`);
    }
  }
}

async function reconcileDiskOffline(site: Site, vmId: string, label: string, report: ReconcileReport): Promise<void> {
  const fileOf = (layer: string) => site.layerFile(vmId, label, layer);
  // A middle-layer merge that got past `rebase -u` (the layer above already points below it): finish it.
  for (let again = true; again;) {
    again = false;
    const layers = diskOf(site.readConfig(vmId), label).layers;
    for (let i = 1; i + 1 < layers.length; i++) {
      const [below, middle, above] = [layers[i - 1], layers[i], layers[i + 1]] as [string, string, string];
      if ((await backingOf(fileOf(above))) === path.resolve(fileOf(below))) {
        retireLayer(site, vmId, label, middle);
        report.actions.push(`${label}: finished the interrupted merge of layer ${middle}`);
        again = true;
        break;
      }
    }
  }
  // Unlisted layer files: one over the top layer is a snapshot whose vm.json update was lost (adopt it: it may
  // hold guest writes made after a live snapshot); anything else is unreachable.
  for (const layer of unlistedLayerFiles(site, vmId, label)) {
    const layers = diskOf(site.readConfig(vmId), label).layers;
    if ((await backingOf(fileOf(layer))) === path.resolve(fileOf(topLayer({ layers })))) {
      updateDisk(site, vmId, label, (l) => [...l, layer]);
      report.actions.push(`${label}: adopted layer ${layer} (snapshot made, vm.json not yet updated)`);
    } else {
      fs.rmSync(fileOf(layer), { force: true });
      report.actions.push(`${label}: removed unlisted layer file ${layer}.qcow2`);
    }
  }
  const layers = diskOf(site.readConfig(vmId), label).layers;
  for (let i = 1; i < layers.length; i++) {
    const backing = await backingOf(fileOf(layers[i] as string));
    if (backing !== path.resolve(fileOf(layers[i - 1] as string))) {
      report.problems.push(
        `${label}: layer ${layers[i]} is backed by ${backing ?? "nothing"}, vm.json says ${layers[i - 1]}`,
      );
    }
  }
}

async function reconcileDiskLive(
  site: Site,
  vmId: string,
  label: string,
  qmp: QmpClient,
  report: ReconcileReport,
): Promise<void> {
  const layers = diskOf(site.readConfig(vmId), label).layers;
  const expected = layers.map((l) => nodeName(label, l)).reverse(); // top first, like the graph
  const chain = await activeChainNodes(qmp, label);
  const unlisted = unlistedLayerFiles(site, vmId, label);
  const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  if (chain === null) {
    report.problems.push(`${label}: the running QEMU has no disk ${label}`);
  } else if (same(chain, expected)) {
    // in line
  } else if (
    chain.length === expected.length + 1 &&
    same(chain.slice(1), expected) &&
    unlisted.some((l) => nodeName(label, l) === chain[0])
  ) {
    const layer = unlisted.find((l) => nodeName(label, l) === chain[0]) as string;
    updateDisk(site, vmId, label, (l) => [...l, layer]);
    report.actions.push(`${label}: adopted live snapshot layer ${layer} (vm.json not yet updated)`);
  } else {
    const gone = layers.find((l) => !chain.includes(nodeName(label, l)));
    if (
      gone !== undefined &&
      chain.length === expected.length - 1 &&
      same(
        chain,
        expected.filter((n) => n !== nodeName(label, gone)),
      )
    ) {
      // A live block-commit of `gone` completed; vm.json still lists it.
      await deleteNode(qmp, nodeName(label, gone), report);
      retireLayer(site, vmId, label, gone);
      report.actions.push(`${label}: finished the interrupted live merge of layer ${gone}`);
    } else {
      report.problems.push(
        `${label}: QEMU runs ${[...chain].reverse().join(" ← ")}, vm.json lists ${layers.join(" ← ")}`,
      );
    }
  }
  // Files (and nodes) of snapshots that never got attached: empty, never written.
  const nodes = await namedNodes(qmp);
  for (const layer of unlistedLayerFiles(site, vmId, label)) {
    const node = nodeName(label, layer);
    if (chain?.includes(node)) continue;
    if (nodes.has(node)) await deleteNode(qmp, node, report);
    fs.rmSync(site.layerFile(vmId, label, layer), { force: true });
    report.actions.push(`${label}: removed unattached layer file ${layer}.qcow2`);
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** Best effort: a node left in the graph only keeps an unlinked file open; it must not block the books. */
async function deleteNode(qmp: QmpClient, node: string, report: ReconcileReport): Promise<void> {
  if (!(await namedNodes(qmp)).has(node)) return;
  try {
    await qmp.execute("blockdev-del", { "node-name": node });
  } catch (err) {
    report.actions.push(`could not delete block node ${node} (left in QEMU until it stops): ${(err as Error).message}`);
  }
}

function checkLayerName(name: string): void {
  if (!layerNamePattern.test(name)) throw new ProviderError("invalid", `invalid snapshot name ${JSON.stringify(name)}`);
}

function diskOf(config: VmConfig, label: string): VmConfig["disks"][number] {
  const disk = config.disks.find((d) => d.label === label);
  if (!disk) throw new ProviderError("not_found", `disk ${label} not found`);
  return disk;
}

const topLayer = (disk: { layers: string[] }) => disk.layers[disk.layers.length - 1] as string;

function updateDisk(site: Site, vmId: string, label: string, change: (layers: string[]) => string[]): void {
  const config = site.readConfig(vmId);
  site.writeConfig(vmId, {
    ...config,
    disks: config.disks.map((d) => (d.label === label ? { ...d, layers: change(d.layers) } : d)),
  });
}

function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

function unlistedLayerFiles(site: Site, vmId: string, label: string): string[] {
  const listed = new Set(diskOf(site.readConfig(vmId), label).layers);
  return listDir(site.diskDir(vmId, label))
    .filter((f) => f.endsWith(".qcow2"))
    .map((f) => f.slice(0, -".qcow2".length))
    .filter((l) => layerNamePattern.test(l) && !listed.has(l));
}

/** The backing file an image's header names, as an absolute path (null: none). Works on images in use. */
export async function backingOf(file: string): Promise<string | null> {
  const { stdout } = await qemuImg(["info", "--output=json", "-U", "-f", "qcow2", file]);
  const info = JSON.parse(stdout) as { "backing-filename"?: string; "full-backing-filename"?: string };
  const backing = info["full-backing-filename"] ?? info["backing-filename"];
  return backing === undefined ? null : path.resolve(path.dirname(path.resolve(file)), backing);
}

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
