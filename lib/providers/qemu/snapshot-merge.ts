// Removing a snapshot and keeping its changes: layer X merged into the layer below it on every disk (qemu-img
// commit with the VM off, a block-commit job while it runs), for the top layer and for a middle one.
import fs from "node:fs";
import { ProviderError } from "../errors";
import { activeChainNodes, COMMIT_JOB_PREFIX } from "./block-graph";
import { qemuImg } from "../chain-export/exec";
import type { QmpClient, QmpEvent } from "./qmp";
import type { Site } from "./site";
import { checkLayerName, diskOf, dropKindIfUnused, retireLayer } from "./snapshot-layers";
import { reconcileOrThrow, reconcileVmLocked } from "./snapshot-reconcile";
import { isRunning } from "./vm-liveness";
import { withVmLock } from "./vm-lock";
import { nodeName, runPaths } from "./vm-names";
import { withQmp } from "./vm-qmp";

export interface SnapshotOptions {
  /** Limit for one commit (qemu-img commit or a live block-commit job). Default 1 h. */
  jobTimeoutMs?: number;
}

const DEFAULT_JOB_TIMEOUT_MS = 3_600_000;

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
  const jobId = `${COMMIT_JOB_PREFIX}${node}`;
  const { pausedMarker } = runPaths(site, vmId);
  try {
    await withQmp(site, vmId, async (qmp) => {
      const chain = (await activeChainNodes(qmp, label)) ?? [];
      if (!chain.includes(node)) return; // merged already by a crashed attempt; reconcile finishes the books
      // Reconcile ran first under the VM lock and cancelled any job a crashed attempt left behind: this job is
      // new, and whether it is an active commit follows from the chain (layers only: QEMU's implicit filter
      // nodes are left out), so a ready active job is never awaited as if it would complete by itself.
      const active = chain[0] === node;
      const since = qmp.mark();
      await qmp.execute("block-commit", {
        "job-id": jobId,
        device: chain[0],
        "base-node": nodeName(label, below),
        // A middle layer: the job ends by itself and rewrites the layer above to point at `below`.
        ...(active ? {} : { "top-node": node, "backing-file": `${below}.qcow2` }),
      });
      if (!active) {
        await waitForJob(qmp, jobId, "BLOCK_JOB_COMPLETED", since, jobTimeoutMs);
        return;
      }
      // An active commit never ends by itself: it becomes ready, then mirrors every guest write until completed.
      await waitForJob(qmp, jobId, "BLOCK_JOB_READY", since, jobTimeoutMs);
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
    // If the pivot happened before the failure, reconcile records it and resumes a VM we paused; if not, it
    // cancels the job (the guest keeps running on the old chain) and a retry starts over.
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
