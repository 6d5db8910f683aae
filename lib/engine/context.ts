// Everything a step needs to know about one session item, loaded fresh from the database for every step (a
// resumed or taken-over run must not trust anything it remembered from before).
import { asc, eq } from "drizzle-orm";
import type { DbOrTx } from "@/lib/db/client";
import {
  disks,
  failbackItems,
  failbackSessions,
  hosts,
  replicas,
  restorePoints,
  vms,
  type Disk,
  type FailbackItem,
  type FailbackSession,
  type Host,
  type Replica,
  type RestorePoint,
  type Vm,
} from "@/lib/db/schema";
import type { Provider } from "@/lib/providers/types";
import { snapshotNames } from "./names";
import { providerForHost } from "./providers";
import type { NewLocationOptions } from "./types";

export interface VmOnHost {
  vm: Vm;
  host: Host;
  provider: Provider;
  /** The provider's id of the VM. */
  ext: string;
}

export interface ItemContext {
  session: FailbackSession;
  item: FailbackItem;
  replica: Replica;
  replicaVm: VmOnHost;
  /** The replica's disks: what failback brings home. */
  replicaDisks: Disk[];
  restorePoints: RestorePoint[];
  /** The production VM; null only before new_location's VM is created. */
  target: VmOnHost | null;
  /** new_location: where the VM is created. */
  newLocation: (NewLocationOptions & { host: Host; provider: Provider }) | null;
  names: ReturnType<typeof snapshotNames>;
}

export async function loadVmOnHost(db: DbOrTx, vmId: string): Promise<VmOnHost> {
  const [row] = await db
    .select({ vm: vms, host: hosts })
    .from(vms)
    .innerJoin(hosts, eq(hosts.id, vms.hostId))
    .where(eq(vms.id, vmId));
  if (!row) throw new Error(`VM ${vmId} is not in the inventory`);
  return { vm: row.vm, host: row.host, provider: providerForHost(row.host), ext: row.vm.externalId };
}

export async function loadItemContext(db: DbOrTx, itemId: string): Promise<ItemContext> {
  const [row] = await db
    .select({ item: failbackItems, session: failbackSessions, replica: replicas })
    .from(failbackItems)
    .innerJoin(failbackSessions, eq(failbackSessions.id, failbackItems.sessionId))
    .innerJoin(replicas, eq(replicas.id, failbackItems.replicaId))
    .where(eq(failbackItems.id, itemId));
  if (!row) throw new Error(`failback item ${itemId} not found`);
  const replicaVm = await loadVmOnHost(db, row.replica.replicaVmId);
  const replicaDisks = await db.select().from(disks).where(eq(disks.vmId, replicaVm.vm.id)).orderBy(asc(disks.label));
  const points = await db
    .select()
    .from(restorePoints)
    .where(eq(restorePoints.replicaId, row.replica.id))
    .orderBy(asc(restorePoints.seq));
  const target = row.item.targetVmId ? await loadVmOnHost(db, row.item.targetVmId) : null;
  let newLocation: ItemContext["newLocation"] = null;
  if (row.item.targetKind === "new_location") {
    const options = row.item.targetOptions as unknown as NewLocationOptions;
    const [host] = await db.select().from(hosts).where(eq(hosts.id, options.hostId));
    if (!host) throw new Error(`host ${options.hostId} of the new location is not in the inventory`);
    newLocation = { ...options, host, provider: providerForHost(host) };
  }
  return {
    session: row.session,
    item: row.item,
    replica: row.replica,
    replicaVm,
    replicaDisks,
    restorePoints: points,
    target,
    newLocation,
    names: snapshotNames(row.session.id),
  };
}

/** The production VM, or an error naming the step that needed it (new_location before its VM exists). */
export function requireTarget(ctx: ItemContext): VmOnHost {
  if (!ctx.target)
    throw new Error("the production VM does not exist yet (new location: its creation step has not run)");
  return ctx.target;
}
