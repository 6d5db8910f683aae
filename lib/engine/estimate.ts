// What a failback of a replica in failover would move, estimated from change tracking: the replica's writes since
// failover (the allocation of its `failover` layer) ∪ the source's changes since the restore point it was failed
// over from (the source's dirty bitmap). The same regions quick rollback compares; phase 1 sends at most these
// (plus nothing else) when tracking is intact. Workers refresh the estimates in the background.
import { describeError } from "@/lib/errors";
import { and, asc, eq, inArray, isNull, lt, notExists, or, sql } from "drizzle-orm";
import type { Db } from "@/lib/db/client";
import { disks, failbackItems, replicas } from "@/lib/db/schema";
import { totalBytes } from "@/lib/dataplane/regions";
import { changedSinceFailover } from "./changed-regions";
import { loadVmOnHost } from "./context";
import { notFromLatestRestorePoint } from "./preflight/checks";

export interface DataEstimate {
  /** null: change tracking cannot tell (see note); a failback then compares every block. */
  bytes: number | null;
  note: string | null;
}

export async function estimateReplica(db: Db, replicaId: string): Promise<DataEstimate> {
  const [replica] = await db.select().from(replicas).where(eq(replicas.id, replicaId));
  if (!replica) throw new Error(`replica ${replicaId} not found`);
  const notLatest = await notFromLatestRestorePoint(db, replica);
  if (notLatest) return { bytes: null, note: `${notLatest} A failback compares every block.` };
  const replicaVm = await loadVmOnHost(db, replica.replicaVmId);
  const source = await loadVmOnHost(db, replica.sourceVmId);
  if ((await source.provider.powerState(source.ext)) !== "off") {
    return { bytes: null, note: "The source VM is running: its changes cannot be read from change tracking now." };
  }
  let bytes = 0;
  for (const disk of await db
    .select()
    .from(disks)
    .where(eq(disks.vmId, replica.replicaVmId))
    .orderBy(asc(disks.label))) {
    const changes = await changedSinceFailover(replicaVm, source, disk.label);
    if (!changes.available) return { bytes: null, note: changes.reason };
    bytes += totalBytes(changes.regions);
  }
  return { bytes, note: null };
}

/** Refreshes the estimates of up to `limit` replicas in failover (not in a failback) older than `maxAgeMs`. */
export async function refreshEstimates(
  db: Db,
  options: { maxAgeMs: number; limit: number; only?: string[] },
): Promise<number> {
  const due = await db
    .select({ id: replicas.id })
    .from(replicas)
    .where(
      and(
        eq(replicas.state, "failover"),
        options.only ? inArray(replicas.id, options.only) : undefined,
        or(
          isNull(replicas.estimatedAt),
          lt(replicas.estimatedAt, sql`now() - ${`${options.maxAgeMs} milliseconds`}::interval`),
        ),
        // A failback under way owns the VMs' disks; its own progress says what moves.
        notExists(
          db
            .select({ one: sql`1` })
            .from(failbackItems)
            .where(
              and(
                eq(failbackItems.replicaId, replicas.id),
                sql`${failbackItems.state} not in ('committed', 'undone', 'cancelled')`,
              ),
            ),
        ),
      ),
    )
    .orderBy(sql`${replicas.estimatedAt} asc nulls first`)
    .limit(options.limit);
  for (const { id } of due) {
    const estimate = await estimateReplica(db, id).catch((err: unknown) => ({
      bytes: null,
      note: `not estimated: ${describeError(err)}`,
    }));
    await db
      .update(replicas)
      .set({ estimatedChangedBytes: estimate.bytes, estimateNote: estimate.note, estimatedAt: new Date() })
      .where(eq(replicas.id, id));
  }
  return due.length;
}
