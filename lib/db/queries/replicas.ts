import { and, asc, count, desc, eq, ilike, inArray, isNull, or, sql, type AnyColumn, type SQL } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import type { DbOrTx } from "@/lib/db/client";
import { disks, failbackItems, hosts, replicas, restorePoints, sites, vms, type ReplicaState } from "@/lib/db/schema";

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

// ── the replicas page: filter, sort and paginate in SQL ──────────────────────────────────────────

export const replicaSortKeys = ["name", "site", "state", "restore_point", "size"] as const;
export type ReplicaSortKey = (typeof replicaSortKeys)[number];

export interface ReplicaSearch {
  /** Any of these states (none: every state). */
  states?: ReplicaState[];
  /** A site on either side: the source VM's or the replica's. */
  siteId?: string;
  /** Part of the source or replica VM's name, case-insensitive. */
  name?: string;
  sort?: ReplicaSortKey;
  direction?: "asc" | "desc";
  /** 1-based. */
  page?: number;
  pageSize?: number;
}

export interface ReplicaListRow extends ReplicaRow {
  sourceVmId: string;
  lastRestorePointSeq: number | null;
  lastRestorePointAt: Date | null;
  /** The restore point the running replica was failed over from, when in failover. */
  failedOverFromSeq: number | null;
  failedOverAt: Date | null;
  /** The replica's disks, summed. */
  sizeBytes: number;
  disks: number;
  /** The failback session this replica is in now, if any. */
  liveSessionId: string | null;
  /** The workers' estimate of what a failback would move (change tracking), its note and age. */
  estimatedChangedBytes: number | null;
  estimateNote: string | null;
  estimatedAt: Date | null;
}

export interface ReplicaPage {
  rows: ReplicaListRow[];
  total: number;
  page: number;
  pageSize: number;
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * One page of replicas. Filtering, sorting and paging all happen in the database (indexed joins and per-row
 * subqueries on unique indexes), so a page costs the same with ten replicas or ten thousand.
 */
export async function searchReplicas(db: DbOrTx, search: ReplicaSearch = {}): Promise<ReplicaPage> {
  const pageSize = Math.min(Math.max(search.pageSize ?? 50, 1), 200);
  const page = Math.max(search.page ?? 1, 1);
  const sourceVm = alias(vms, "source_vm");
  const replicaVm = alias(vms, "replica_vm");
  const sourceHost = alias(hosts, "source_host");
  const replicaHost = alias(hosts, "replica_host");
  const sourceSite = alias(sites, "source_site");
  const replicaSite = alias(sites, "replica_site");

  const where: SQL[] = [];
  if (search.states?.length) where.push(inArray(replicas.state, search.states));
  if (search.siteId) {
    const site = or(eq(sourceSite.id, search.siteId), eq(replicaSite.id, search.siteId));
    if (site) where.push(site);
  }
  const name = search.name?.trim();
  if (name) {
    const pattern = `%${escapeLike(name)}%`;
    const match = or(ilike(sourceVm.name, pattern), ilike(replicaVm.name, pattern));
    if (match) where.push(match);
  }
  const condition = where.length ? and(...where) : undefined;

  const sizeBytes =
    sql<number>`(select coalesce(sum(d.size_bytes), 0) from ${disks} d where d.vm_id = ${replicas.replicaVmId})`.mapWith(
      Number,
    );
  const diskCount = sql<number>`(select count(*) from ${disks} d where d.vm_id = ${replicas.replicaVmId})`.mapWith(
    Number,
  );
  const lastSeq = sql<
    number | null
  >`(select max(rp.seq) from ${restorePoints} rp where rp.replica_id = ${replicas.id})`;
  const lastAt = sql<Date | null>`(select rp.created_at from ${restorePoints} rp where rp.replica_id = ${replicas.id} order by rp.seq desc limit 1)`;
  const failedOverFromSeq = sql<
    number | null
  >`(select rp.seq from ${restorePoints} rp where rp.id = ${replicas.failedOverFromRestorePointId})`;
  const liveSession = sql<
    string | null
  >`(select fi.session_id from ${failbackItems} fi where fi.replica_id = ${replicas.id} and fi.state not in ('committed', 'undone', 'cancelled') limit 1)`;

  const direction = search.direction === "desc" ? desc : asc;
  const sortColumn: Record<ReplicaSortKey, SQL | AnyColumn> = {
    name: sourceVm.name,
    site: sourceSite.name,
    state: replicas.state,
    restore_point: sql`${lastAt}`,
    size: sql`${sizeBytes}`,
  };
  const primary = sortColumn[search.sort ?? "name"];
  const order =
    search.sort === "restore_point"
      ? sql`${primary} ${sql.raw(search.direction === "desc" ? "desc" : "asc")} nulls last`
      : direction(primary);

  const rows = await db
    .select({
      id: replicas.id,
      state: replicas.state,
      replicationOnHold: replicas.replicationOnHold,
      lastReplicatedAt: replicas.lastReplicatedAt,
      failedOverAt: replicas.failedOverAt,
      sourceVmId: replicas.sourceVmId,
      sourceVmName: sourceVm.name,
      sourceSiteName: sourceSite.name,
      replicaVmName: replicaVm.name,
      replicaSiteName: replicaSite.name,
      restorePoints:
        sql<number>`(select count(*) from ${restorePoints} rp where rp.replica_id = ${replicas.id})`.mapWith(Number),
      lastRestorePointSeq: lastSeq,
      lastRestorePointAt: lastAt,
      failedOverFromSeq,
      sizeBytes,
      disks: diskCount,
      liveSessionId: liveSession,
      estimatedChangedBytes: replicas.estimatedChangedBytes,
      estimateNote: replicas.estimateNote,
      estimatedAt: replicas.estimatedAt,
    })
    .from(replicas)
    .innerJoin(sourceVm, eq(sourceVm.id, replicas.sourceVmId))
    .innerJoin(sourceHost, eq(sourceHost.id, sourceVm.hostId))
    .innerJoin(sourceSite, eq(sourceSite.id, sourceHost.siteId))
    .innerJoin(replicaVm, eq(replicaVm.id, replicas.replicaVmId))
    .innerJoin(replicaHost, eq(replicaHost.id, replicaVm.hostId))
    .innerJoin(replicaSite, eq(replicaSite.id, replicaHost.siteId))
    .where(condition)
    .orderBy(order, asc(sourceVm.name), asc(replicas.id))
    .limit(pageSize)
    .offset((page - 1) * pageSize);

  const [counted] = await db
    .select({ n: count() })
    .from(replicas)
    .innerJoin(sourceVm, eq(sourceVm.id, replicas.sourceVmId))
    .innerJoin(sourceHost, eq(sourceHost.id, sourceVm.hostId))
    .innerJoin(sourceSite, eq(sourceSite.id, sourceHost.siteId))
    .innerJoin(replicaVm, eq(replicaVm.id, replicas.replicaVmId))
    .innerJoin(replicaHost, eq(replicaHost.id, replicaVm.hostId))
    .innerJoin(replicaSite, eq(replicaSite.id, replicaHost.siteId))
    .where(condition);

  return {
    rows: rows.map((r) => ({
      ...r,
      lastRestorePointSeq: r.lastRestorePointSeq === null ? null : Number(r.lastRestorePointSeq),
      lastRestorePointAt: r.lastRestorePointAt ? new Date(r.lastRestorePointAt) : null,
      failedOverFromSeq: r.failedOverFromSeq === null ? null : Number(r.failedOverFromSeq),
    })),
    total: counted?.n ?? 0,
    page,
    pageSize,
  };
}

/** Sites that hold a source VM or a replica: the replicas page's site filter. */
export async function listReplicaSites(db: DbOrTx): Promise<{ id: string; name: string }[]> {
  return db.select({ id: sites.id, name: sites.name }).from(sites).orderBy(asc(sites.name));
}

// ── the failback wizard ─────────────────────────────────────────────────────────────────────────

export interface WizardReplica {
  id: string;
  state: ReplicaState;
  sourceVmId: string;
  sourceVmName: string;
  sourceSiteName: string;
  replicaVmName: string;
  cpus: number;
  memoryMib: number;
  sizeBytes: number;
  disks: { label: string; sizeBytes: number }[];
}

/** The replicas chosen for a failback, in the order asked for (unknown ids are left out). */
export async function replicasForWizard(db: DbOrTx, ids: string[]): Promise<WizardReplica[]> {
  if (ids.length === 0) return [];
  const sourceVm = alias(vms, "source_vm");
  const replicaVm = alias(vms, "replica_vm");
  const rows = await db
    .select({
      id: replicas.id,
      state: replicas.state,
      sourceVmId: replicas.sourceVmId,
      replicaVmId: replicas.replicaVmId,
      sourceVmName: sourceVm.name,
      sourceSiteName: sites.name,
      replicaVmName: replicaVm.name,
      cpus: replicaVm.cpus,
      memoryMib: replicaVm.memoryMib,
    })
    .from(replicas)
    .innerJoin(sourceVm, eq(sourceVm.id, replicas.sourceVmId))
    .innerJoin(hosts, eq(hosts.id, sourceVm.hostId))
    .innerJoin(sites, eq(sites.id, hosts.siteId))
    .innerJoin(replicaVm, eq(replicaVm.id, replicas.replicaVmId))
    .where(inArray(replicas.id, ids));
  const diskRows = rows.length
    ? await db
        .select({ vmId: disks.vmId, label: disks.label, sizeBytes: disks.sizeBytes })
        .from(disks)
        .where(
          inArray(
            disks.vmId,
            rows.map((r) => r.replicaVmId),
          ),
        )
        .orderBy(asc(disks.label))
    : [];
  const byId = new Map(
    rows.map((r) => {
      const own = diskRows
        .filter((d) => d.vmId === r.replicaVmId)
        .map((d) => ({ label: d.label, sizeBytes: d.sizeBytes }));
      const { replicaVmId: _replicaVmId, ...rest } = r;
      return [r.id, { ...rest, disks: own, sizeBytes: own.reduce((s, d) => s + d.sizeBytes, 0) }] as const;
    }),
  );
  return ids.map((id) => byId.get(id)).filter((r): r is WizardReplica => r !== undefined);
}

export interface TargetChoices {
  hosts: { id: string; name: string; siteName: string }[];
  /** VMs that could be an already-recovered production VM: in the inventory, not retired, not a replica. */
  recoveredVms: { id: string; name: string; hostName: string; siteName: string }[];
}

/** Where a failback may go besides the original VM: hosts for a new VM, and VMs recovered by other means. */
export async function listFailbackTargetChoices(db: DbOrTx): Promise<TargetChoices> {
  const hostRows = await db
    .select({ id: hosts.id, name: hosts.name, siteName: sites.name })
    .from(hosts)
    .innerJoin(sites, eq(sites.id, hosts.siteId))
    .orderBy(asc(sites.name), asc(hosts.name));
  const recoveredVms = await db
    .select({ id: vms.id, name: vms.name, hostName: hosts.name, siteName: sites.name })
    .from(vms)
    .innerJoin(hosts, eq(hosts.id, vms.hostId))
    .innerJoin(sites, eq(sites.id, hosts.siteId))
    .where(
      and(
        isNull(vms.retiredAt),
        sql`not exists (select 1 from ${replicas} r where r.replica_vm_id = ${vms.id} or r.source_vm_id = ${vms.id})`,
      ),
    )
    .orderBy(asc(vms.name))
    .limit(500);
  return { hosts: hostRows, recoveredVms };
}
