// Replicate: bring a source VM's disks into a new restore point on its replica with the data plane's diff and
// transfer — the first time over the whole disk, then only over the blocks the source's change tracking marked. Each run leaves one more restore point layer
// (`rp-<seq>`) on the replica and restarts the source's change tracking.
import type { Provider, Region } from "@/lib/providers/types";
import { ProviderError } from "@/lib/providers/errors";
import { syncDisk } from "@/lib/dataplane";
import { totalBytes } from "@/lib/dataplane/regions";

export interface ReplicateRequest {
  source: Provider;
  sourceVmId: string;
  target: Provider;
  replicaVmId: string;
  /** Restore point number: 1 for the first (full) replication. */
  seq: number;
  /** The source's dirty bitmap, restarted after each replication. */
  cbtName: string;
  log?: (line: string) => void;
}

export interface ReplicateResult {
  layer: string;
  mode: "full" | "incremental";
  /** Why an incremental run fell back to a full copy, when it did. */
  fallbackReason?: string;
  bytesCopied: number;
  regionBytes: number;
}

/** The source's change tracking: a dirty bitmap restarted by every replication and by failback's switch. */
export const sourceChangeTracking = "cbt";

export const restorePointLayer = (seq: number) => `rp-${seq}`;

export async function replicate(request: ReplicateRequest): Promise<ReplicateResult> {
  const { source, sourceVmId, target, replicaVmId, seq, cbtName } = request;
  if ((await source.powerState(sourceVmId)) !== "off") {
    // Reading a running source needs a freeze snapshot and bitmap rotation in one step: the data plane's job.
    throw new ProviderError("busy", `replication copies powered-off source VMs for now; ${sourceVmId} is running`);
  }
  const vm = await source.getVm(sourceVmId);
  const layer = restorePointLayer(seq);
  await target.ensureSnapshot(replicaVmId, layer, "working");

  let mode: ReplicateResult["mode"] = seq === 1 ? "full" : "incremental";
  let fallbackReason: string | undefined;
  let bytesCopied = 0;
  let regionBytes = 0;
  for (const disk of vm.disks) {
    let regions: Region[] = [{ offset: 0, length: disk.sizeBytes }];
    if (mode === "incremental") {
      const changed = await source.changedBlocks(sourceVmId, disk.label, { kind: "bitmap", name: cbtName });
      if (changed.available) regions = changed.regions;
      else {
        mode = "full";
        fallbackReason = `${disk.label}: ${changed.reason}`;
        request.log?.(`change tracking unusable (${fallbackReason}); copying everything`);
      }
    }
    const reader = await source.openDiskForRead(sourceVmId, disk.label);
    try {
      const writer = await target.openSnapshotForWrite(replicaVmId, disk.label, layer);
      try {
        // The new layer reads as the previous restore point, so only what differs from it is written.
        const result = await syncDisk({ source: reader, target: writer, regions });
        bytesCopied += result.bytesWritten;
        regionBytes += totalBytes(regions);
      } finally {
        await writer.close();
      }
    } finally {
      await reader.close();
    }
  }
  await source.restartChangeTracking(sourceVmId, cbtName);
  return { layer, mode, fallbackReason, bytesCopied, regionBytes };
}
