// The regions a failback from failover can have to send, by change tracking: the replica's writes since failover
// (the allocation of its `failover` layer) ∪ the source's changes since the restore point (its dirty bitmap).
// Quick rollback compares exactly these, and the replicas page's estimate counts them.
import { normalizeRegions } from "@/lib/dataplane/regions";
import type { ChangedBlocks } from "@/lib/providers/types";
import { failoverLayer } from "@/lib/replication/failover";
import { sourceChangeTracking } from "@/lib/replication/replicate";
import type { VmOnHost } from "./context";

/** `sourceBelow`: read the source's bitmap beneath this snapshot (failback's own working snapshot above it). */
export async function changedSinceFailover(
  replica: VmOnHost,
  source: VmOnHost,
  disk: string,
  sourceBelow?: string,
): Promise<ChangedBlocks> {
  const written = await replica.provider.changedBlocks(replica.ext, disk, { kind: "layer", name: failoverLayer });
  const changed = await source.provider.changedBlocks(source.ext, disk, {
    kind: "bitmap",
    name: sourceChangeTracking,
    below: sourceBelow,
  });
  if (!written.available || !changed.available) {
    const reasons = [written, changed].flatMap((c) => (c.available ? [] : [c.reason]));
    return { available: false, reason: `${disk}: ${reasons.join("; ")}` };
  }
  return {
    available: true,
    regions: normalizeRegions([...written.regions, ...changed.regions]),
    granularity: written.granularity,
  };
}
