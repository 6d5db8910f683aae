// Reconcile: brings a VM's layer files, QEMU's block graph and vm.json back in line after a crash at any step
// of a snapshot operation (README.md "Reconcile rules"). Every snapshot operation and powerOn run it first, and
// refuse to go on while it reports problems.
import fs from "node:fs";
import path from "node:path";
import { ProviderError } from "../errors";
import { activeChainNodes, blockJobs, COMMIT_JOB_PREFIX, namedNodes } from "./block-graph";
import type { QmpClient } from "./qmp";
import type { Site } from "./site";
import { backingOf, diskOf, listDir, retireLayer, topLayer, unlistedLayerFiles, updateDisk } from "./snapshot-layers";
import { sleep } from "./sleep";
import { cleanupStaleRunFiles, isRunning } from "./vm-liveness";
import { withVmLock } from "./vm-lock";
import { nodeName, runPaths } from "./vm-names";
import { withQmp } from "./vm-qmp";

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

export async function reconcileOrThrow(site: Site, vmId: string): Promise<void> {
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
  const labels = site.readConfig(vmId).disks.map((d) => d.label);
  if (!running) {
    for (const label of labels) {
      finishInterruptedRemovals(site, vmId, label, report);
      await reconcileDiskOffline(site, vmId, label, report);
    }
    return report;
  }
  // One QMP connection for the whole pass (withQmp shares it with the nested users).
  await withQmp(site, vmId, async (qmp) => {
    await cancelLeftoverCommitJobs(qmp, report);
    for (const label of labels) {
      finishInterruptedRemovals(site, vmId, label, report);
      await reconcileDiskLive(site, vmId, label, qmp, report);
    }
    if (await resumeIfPausedByUs(site, vmId)) report.actions.push("resumed the VM paused for a live merge");
  });
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

/** How long a cancelled job may take to leave QEMU (force-cancelling is immediate; this bounds a stuck one). */
const JOB_GONE_TIMEOUT_MS = 30_000;

/**
 * A live merge whose process died (or failed) leaves its block-commit job in QEMU: still copying, or ready and
 * mirroring every guest write into the layer below until somebody pivots, with its implicit filter node above
 * the layer. Under the VM lock nobody drives it any more, so it is cancelled with force: no pivot, at once even
 * when ready or paused (a VM the dead process paused is resumed at the end of reconcile). The layer stays on
 * top and holds every guest write; the layer below holds part of its data, which the layer above covers, and
 * the re-run commits it again. A job whose pivot the dead process already requested may pivot before the cancel
 * lands: the chain then lacks the layer, and the "live merge finished" rule records it.
 */
async function cancelLeftoverCommitJobs(qmp: QmpClient, report: ReconcileReport): Promise<void> {
  const leftover = (await blockJobs(qmp)).filter((j) => j.device.startsWith(COMMIT_JOB_PREFIX));
  if (leftover.length === 0) return;
  const failures = new Map<string, string>();
  for (const job of leftover) {
    try {
      await qmp.execute("block-job-cancel", { device: job.device, force: true });
    } catch (err) {
      // Gone meanwhile (it pivoted, or ended by itself), or in a state that ends by itself: the wait tells.
      failures.set(job.device, (err as Error).message);
    }
  }
  const deadline = Date.now() + JOB_GONE_TIMEOUT_MS;
  let still = leftover;
  for (;;) {
    const now = new Set((await blockJobs(qmp)).map((j) => j.device));
    still = still.filter((j) => now.has(j.device));
    if (still.length === 0 || Date.now() >= deadline) break;
    await sleep(20);
  }
  for (const job of leftover) {
    if (still.includes(job)) {
      const why = failures.get(job.device);
      report.problems.push(
        `block job ${job.device} left by an interrupted live merge did not end after block-job-cancel` +
          (why === undefined ? "" : ` (${why})`),
      );
    } else {
      report.actions.push(
        `cancelled block job ${job.device} (${job.status}) left by an interrupted live merge; its re-run commits again`,
      );
    }
  }
}

/** Resumes a guest that a live merge paused across its pivot (the pause marker says so) and drops the marker. */
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

/** Best effort: a node left in the graph only keeps an unlinked file open; it must not block the books. */
async function deleteNode(qmp: QmpClient, node: string, report: ReconcileReport): Promise<void> {
  if (!(await namedNodes(qmp)).has(node)) return;
  try {
    await qmp.execute("blockdev-del", { "node-name": node });
  } catch (err) {
    report.actions.push(`could not delete block node ${node} (left in QEMU until it stops): ${(err as Error).message}`);
  }
}
