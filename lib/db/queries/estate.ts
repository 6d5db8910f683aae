// Sites, hosts, VMs, disks, replicas and restore points, written idempotently (keyed by their natural keys)
// so that recording an inventory twice changes nothing the second time.
import { and, eq, sql } from "drizzle-orm";
import type { DbOrTx } from "@/lib/db/client";
import {
  disks,
  hosts,
  replicas,
  restorePoints,
  sites,
  vms,
  type Host,
  type Replica,
  type RestorePoint,
  type Site,
  type Vm,
} from "@/lib/db/schema";

export async function upsertSite(db: DbOrTx, name: string, description = ""): Promise<Site> {
  const [row] = await db
    .insert(sites)
    .values({ name, description })
    .onConflictDoUpdate({ target: sites.name, set: { description } })
    .returning();
  return row as Site;
}

export async function upsertHost(
  db: DbOrTx,
  values: { siteId: string; name: string; providerKind: Host["providerKind"]; connection: Record<string, unknown> },
): Promise<Host> {
  const [row] = await db
    .insert(hosts)
    .values(values)
    .onConflictDoUpdate({
      target: [hosts.siteId, hosts.name],
      set: { connection: values.connection, providerKind: values.providerKind },
    })
    .returning();
  return row as Host;
}

export async function upsertVm(
  db: DbOrTx,
  values: {
    hostId: string;
    externalId: string;
    name: string;
    cpus: number;
    memoryMib: number;
    guestAgent: boolean;
    config: Record<string, unknown>;
  },
): Promise<Vm> {
  const { hostId, externalId, ...rest } = values;
  const [row] = await db
    .insert(vms)
    .values(values)
    .onConflictDoUpdate({ target: [vms.hostId, vms.externalId], set: rest })
    .returning();
  return row as Vm;
}

export async function upsertDisk(
  db: DbOrTx,
  values: { vmId: string; label: string; sizeBytes: number; locator: string },
): Promise<void> {
  await db
    .insert(disks)
    .values(values)
    .onConflictDoUpdate({
      target: [disks.vmId, disks.label],
      set: { sizeBytes: values.sizeBytes, locator: values.locator },
    });
}

export async function upsertReplica(db: DbOrTx, values: { sourceVmId: string; replicaVmId: string }): Promise<Replica> {
  const [row] = await db
    .insert(replicas)
    .values(values)
    .onConflictDoUpdate({ target: replicas.sourceVmId, set: { replicaVmId: values.replicaVmId } })
    .returning();
  return row as Replica;
}

export async function recordRestorePoint(
  db: DbOrTx,
  values: {
    replicaId: string;
    seq: number;
    kind: RestorePoint["kind"];
    locator: Record<string, unknown>;
    sizeBytes: number;
  },
): Promise<RestorePoint> {
  const [row] = await db
    .insert(restorePoints)
    .values(values)
    .onConflictDoUpdate({
      target: [restorePoints.replicaId, restorePoints.seq],
      set: { locator: values.locator, sizeBytes: values.sizeBytes },
    })
    .returning();
  await db
    .update(replicas)
    .set({ lastReplicatedAt: sql`now()`, updatedAt: sql`now()` })
    .where(eq(replicas.id, values.replicaId));
  return row as RestorePoint;
}

export async function markFailedOver(db: DbOrTx, replicaId: string, restorePointId: string): Promise<void> {
  await db
    .update(replicas)
    .set({
      state: "failover",
      replicationOnHold: true,
      failedOverFromRestorePointId: restorePointId,
      failedOverAt: sql`now()`,
      updatedAt: sql`now()`,
    })
    .where(and(eq(replicas.id, replicaId), eq(replicas.state, "ready")));
}

export async function findHostBySiteName(db: DbOrTx, siteName: string, hostName: string): Promise<Host | undefined> {
  const [row] = await db
    .select({ host: hosts })
    .from(hosts)
    .innerJoin(sites, eq(sites.id, hosts.siteId))
    .where(and(eq(sites.name, siteName), eq(hosts.name, hostName)));
  return row?.host;
}
