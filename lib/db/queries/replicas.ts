import { asc, count, eq, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import type { DbOrTx } from "@/lib/db/client";
import { hosts, replicas, restorePoints, sites, vms, type ReplicaState } from "@/lib/db/schema";

export interface ReplicaRow {
  id: string;
  state: ReplicaState;
  replicationOnHold: boolean;
  lastReplicatedAt: Date | null;
  sourceVmName: string;
  sourceSiteName: string;
  replicaVmName: string;
  replicaSiteName: string;
  restorePoints: number;
}

export async function listReplicas(db: DbOrTx): Promise<ReplicaRow[]> {
  const sourceVm = alias(vms, "source_vm");
  const replicaVm = alias(vms, "replica_vm");
  const sourceHost = alias(hosts, "source_host");
  const replicaHost = alias(hosts, "replica_host");
  const sourceSite = alias(sites, "source_site");
  const replicaSite = alias(sites, "replica_site");
  return db
    .select({
      id: replicas.id,
      state: replicas.state,
      replicationOnHold: replicas.replicationOnHold,
      lastReplicatedAt: replicas.lastReplicatedAt,
      sourceVmName: sourceVm.name,
      sourceSiteName: sourceSite.name,
      replicaVmName: replicaVm.name,
      replicaSiteName: replicaSite.name,
      restorePoints: sql<number>`(select count(*)::int from ${restorePoints} where ${restorePoints.replicaId} = ${replicas.id})`,
    })
    .from(replicas)
    .innerJoin(sourceVm, eq(sourceVm.id, replicas.sourceVmId))
    .innerJoin(sourceHost, eq(sourceHost.id, sourceVm.hostId))
    .innerJoin(sourceSite, eq(sourceSite.id, sourceHost.siteId))
    .innerJoin(replicaVm, eq(replicaVm.id, replicas.replicaVmId))
    .innerJoin(replicaHost, eq(replicaHost.id, replicaVm.hostId))
    .innerJoin(replicaSite, eq(replicaSite.id, replicaHost.siteId))
    .orderBy(asc(sourceVm.name));
}

export async function countReplicasByState(db: DbOrTx): Promise<Record<ReplicaState, number>> {
  const rows = await db.select({ state: replicas.state, n: count() }).from(replicas).groupBy(replicas.state);
  const counts: Record<ReplicaState, number> = { ready: 0, failover: 0, ready_to_switch: 0, failback: 0 };
  for (const row of rows) counts[row.state] = row.n;
  return counts;
}
