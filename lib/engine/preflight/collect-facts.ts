// Worker side of the pre-flight: asks the hypervisors what the database cannot know — free space where the
// target's disks live, whether the source's change tracking is intact for quick rollback. Only workers import
// this file (it reaches providers); the web tier asks a worker for the same answer through a worker request.
import { describeError } from "@/lib/errors";
import { eq } from "drizzle-orm";
import type { DbOrTx } from "@/lib/db/client";
import { disks, hosts, replicas, vms } from "@/lib/db/schema";
import { sourceChangeTracking } from "@/lib/replication/replicate";
import { loadVmOnHost } from "../context";
import { providerForHost } from "../providers";
import type { FailbackItemRequest } from "../types";
import { noFacts, type HypervisorFacts } from "./facts";

export async function collectPreflightFacts(db: DbOrTx, items: FailbackItemRequest[]): Promise<HypervisorFacts[]> {
  const facts: HypervisorFacts[] = [];
  for (const item of items) {
    facts.push(
      await factsOf(db, item).catch((err: unknown) => ({
        ...noFacts,
        unreachable: describeError(err),
      })),
    );
  }
  return facts;
}

async function factsOf(db: DbOrTx, request: FailbackItemRequest): Promise<HypervisorFacts> {
  const [replica] = await db.select().from(replicas).where(eq(replicas.id, request.replicaId));
  if (!replica) return noFacts;
  if (request.target === "new_location") {
    const [host] = request.newLocation
      ? await db.select().from(hosts).where(eq(hosts.id, request.newLocation.hostId))
      : [];
    if (!host) return noFacts;
    const free = await providerForHost(host)
      .freeSpaceBytes("")
      .catch(() => null);
    return { ...noFacts, freeSpaceBytes: free };
  }
  const targetVmId = request.target === "original" ? replica.sourceVmId : request.recoveredVmId;
  const [targetRow] = targetVmId ? await db.select({ id: vms.id }).from(vms).where(eq(vms.id, targetVmId)) : [];
  const target = targetRow ? await loadVmOnHost(db, targetRow.id) : null;
  const freeSpaceBytes = target ? await target.provider.freeSpaceBytes(target.ext).catch(() => null) : null;
  if (request.target !== "original") return { ...noFacts, freeSpaceBytes };
  return { freeSpaceBytes, sourceTracking: await sourceTrackingOf(db, replica.sourceVmId), unreachable: null };
}

/** Whether every disk of the source still has the dirty bitmap replication keeps since its last restore point. */
async function sourceTrackingOf(db: DbOrTx, sourceVmId: string): Promise<HypervisorFacts["sourceTracking"]> {
  const source = await loadVmOnHost(db, sourceVmId);
  for (const disk of await db.select().from(disks).where(eq(disks.vmId, sourceVmId))) {
    const tracked = await source.provider.changedBlocks(source.ext, disk.label, {
      kind: "bitmap",
      name: sourceChangeTracking,
    });
    if (!tracked.available) {
      return {
        intact: false,
        reason: `The source's change tracking on ${disk.label} is not intact: ${tracked.reason}`,
      };
    }
  }
  return { intact: true };
}
