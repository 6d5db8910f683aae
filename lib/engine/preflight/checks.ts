// Pre-flight: everything that can be known before phase 1 starts, per replica. Refusals carry the reason an
// operator can act on; warnings (disks added or resized on the replica) are shown and recorded.
import { describeError } from "@/lib/errors";
import { and, asc, desc, eq, ne, notInArray } from "drizzle-orm";
import type { DbOrTx } from "@/lib/db/client";
import { disks, failbackItems, hosts, replicas, restorePoints, vms, type Replica } from "@/lib/db/schema";
import type { FailbackItemRequest } from "../types";
import type { HypervisorFacts } from "./facts";

export interface PreflightResult {
  replicaId: string;
  replicaName: string;
  ok: boolean;
  /** Why the failback cannot start for this replica, with the field it concerns. */
  refusals: { field: string; code: "NOT_FOUND" | "INVALID_STATE" | "CONFLICT" | "VALIDATION"; message: string }[];
  warnings: string[];
  quickRollback: { allowed: boolean; reason?: string };
  /** Bytes the target needs free: the working snapshot can grow to the disks' size; new location copies all. */
  spaceNeededBytes: number;
  spaceFreeBytes: number | null;
  /** The production VM (original / recovered). */
  targetVmId: string | null;
  sourceVmId: string | null;
}

/** Why change tracking cannot describe this replica's differences (it was not failed over from the latest restore point), or null. */
export async function notFromLatestRestorePoint(db: DbOrTx, replica: Replica): Promise<string | null> {
  const [latest] = await db
    .select()
    .from(restorePoints)
    .where(eq(restorePoints.replicaId, replica.id))
    .orderBy(desc(restorePoints.seq))
    .limit(1);
  if (!latest) return "The replica was never replicated.";
  if (replica.failedOverFromRestorePointId !== latest.id)
    return `The replica was not failed over from the source's latest restore point (#${latest.seq}).`;
  return null;
}

const notCheckedYet = "The source's change tracking is checked once the database checks pass.";

/** What the source's change tracking says of quick rollback, once the database allowed it (`notCheckedYet`). */
function quickRollbackFrom(facts: HypervisorFacts): { allowed: boolean; reason?: string } {
  if (facts.unreachable) return { allowed: false, reason: `The source could not be checked: ${facts.unreachable}` };
  if (!facts.sourceTracking) return { allowed: false, reason: "The source's change tracking was not checked." };
  if (!facts.sourceTracking.intact) return { allowed: false, reason: facts.sourceTracking.reason };
  return { allowed: true };
}

export interface PreflightOptions {
  /** Phase 1 checks again for an item already recorded: that item is not "another session" of the replica. */
  ownItemId?: string;
}

/**
 * Pre-flight for one replica, from the database alone: what needs the hypervisors (free space, the source's
 * change tracking) is added by `withFacts`, and only for a replica that passes these checks, so a worker is
 * asked only about those. Something the database cannot tell is a refusal with the reason, never an unexpected
 * error.
 */
export async function preflightItem(
  db: DbOrTx,
  request: FailbackItemRequest,
  index: number,
  quickRollback: boolean,
  options: PreflightOptions = {},
): Promise<PreflightResult> {
  try {
    return await preflightChecks(db, request, index, quickRollback, options);
  } catch (err) {
    return {
      replicaId: request.replicaId,
      replicaName: request.replicaId,
      ok: false,
      refusals: [
        {
          field: `items.${index}.replicaId`,
          code: "INVALID_STATE",
          message: `The hosts of this failback cannot be checked: ${describeError(err)}`,
        },
      ],
      warnings: [],
      quickRollback: { allowed: false, reason: "The hosts could not be checked." },
      spaceNeededBytes: 0,
      spaceFreeBytes: null,
      targetVmId: null,
      sourceVmId: null,
    };
  }
}

async function preflightChecks(
  db: DbOrTx,
  request: FailbackItemRequest,
  index: number,
  quickRollback: boolean,
  options: PreflightOptions,
): Promise<PreflightResult> {
  const field = (name: string) => `items.${index}.${name}`;
  const result: PreflightResult = {
    replicaId: request.replicaId,
    replicaName: request.replicaId,
    ok: false,
    refusals: [],
    warnings: [],
    quickRollback: { allowed: false, reason: "Quick rollback needs the original VM as the target." },
    spaceNeededBytes: 0,
    spaceFreeBytes: null,
    targetVmId: null,
    sourceVmId: null,
  };
  const refuse = (name: string, code: PreflightResult["refusals"][number]["code"], message: string) =>
    result.refusals.push({ field: field(name), code, message });

  const [replica] = await db.select().from(replicas).where(eq(replicas.id, request.replicaId));
  if (!replica) {
    refuse("replicaId", "NOT_FOUND", "No such replica.");
    return result;
  }
  const [replicaVm] = await db.select({ name: vms.name }).from(vms).where(eq(vms.id, replica.replicaVmId));
  const replicaName = replicaVm?.name ?? replica.id;
  result.replicaName = replicaName;
  result.sourceVmId = replica.sourceVmId;
  const [live] = await db
    .select({ id: failbackItems.id, sessionId: failbackItems.sessionId })
    .from(failbackItems)
    .where(
      and(
        eq(failbackItems.replicaId, replica.id),
        notInArray(failbackItems.state, ["committed", "undone", "cancelled"]),
        options.ownItemId ? ne(failbackItems.id, options.ownItemId) : undefined,
      ),
    );
  if (live) refuse("replicaId", "CONFLICT", `${replicaName} is already in failback session ${live.sessionId}.`);
  else if (replica.state !== "failover" && !(options.ownItemId && replica.state === "failback"))
    refuse(
      "replicaId",
      "INVALID_STATE",
      `${replicaName} is ${replica.state.replace(/_/g, " ")}, not in failover: failback starts only from failover.`,
    );
  const points = await db
    .select({ id: restorePoints.id })
    .from(restorePoints)
    .where(eq(restorePoints.replicaId, replica.id))
    .limit(1);
  if (points.length === 0)
    refuse("replicaId", "INVALID_STATE", `${replicaName} was never replicated: there is nothing to fail back from.`);

  const replicaDisks = await db
    .select()
    .from(disks)
    .where(eq(disks.vmId, replica.replicaVmId))
    .orderBy(asc(disks.label));
  const diskBytes = replicaDisks.reduce((s, d) => s + d.sizeBytes, 0);

  let targetVmId: string | null = null;
  if (request.target === "original") targetVmId = replica.sourceVmId;
  if (request.target === "recovered") {
    if (!request.recoveredVmId) refuse("recoveredVmId", "VALIDATION", "Choose the recovered VM.");
    else {
      const [vm] = await db.select().from(vms).where(eq(vms.id, request.recoveredVmId));
      if (!vm) refuse("recoveredVmId", "NOT_FOUND", "No such VM.");
      else if (vm.id === replica.replicaVmId)
        refuse("recoveredVmId", "VALIDATION", "The recovered VM cannot be the replica itself.");
      else if (vm.retiredAt) refuse("recoveredVmId", "INVALID_STATE", `${vm.name} is retired.`);
      else targetVmId = vm.id;
    }
  }
  result.targetVmId = targetVmId;

  if (targetVmId) {
    const [target] = await db.select({ name: vms.name }).from(vms).where(eq(vms.id, targetVmId));
    const targetName = target?.name ?? targetVmId;
    const targetDisks = await db.select().from(disks).where(eq(disks.vmId, targetVmId));
    for (const disk of replicaDisks) {
      const match = targetDisks.find((d) => d.label === disk.label);
      if (!match)
        result.warnings.push(
          `Disk ${disk.label} exists on the replica but not on ${targetName}: it will not be carried back.`,
        );
      else if (match.sizeBytes !== disk.sizeBytes)
        result.warnings.push(
          `Disk ${disk.label} was resized on the replica (${match.sizeBytes} → ${disk.sizeBytes} bytes): it will not be carried back.`,
        );
    }
    result.spaceNeededBytes = diskBytes;
  }
  if (request.target === "new_location") {
    const where = request.newLocation;
    if (!where) refuse("newLocation", "VALIDATION", "Choose the host and name of the new VM.");
    else {
      const [host] = await db.select().from(hosts).where(eq(hosts.id, where.hostId));
      if (!host) refuse("newLocation.hostId", "NOT_FOUND", "No such host.");
      else {
        const [clash] = await db
          .select({ id: vms.id })
          .from(vms)
          .where(and(eq(vms.hostId, host.id), eq(vms.name, where.name)));
        if (clash) refuse("newLocation.name", "CONFLICT", `A VM named ${where.name} exists on ${host.name} already.`);
        result.spaceNeededBytes = diskBytes;
      }
    }
  }
  if (request.target === "original") {
    const notLatest = await notFromLatestRestorePoint(db, replica);
    result.quickRollback = { allowed: false, reason: notLatest ?? notCheckedYet };
    if (quickRollback && notLatest) refuseQuickRollback(result, index, notLatest);
  }
  result.ok = result.refusals.length === 0;
  return result;
}

function refuseQuickRollback(result: PreflightResult, index: number, reason: string): void {
  result.refusals.push({
    field: `items.${index}.quickRollback`,
    code: "VALIDATION",
    message: `Quick rollback is not available for ${result.replicaName}: ${reason}`,
  });
}

/**
 * A database pre-flight that passed, completed with the hypervisor facts a worker collected: hosts that could
 * not be asked, free space on the target, and the source's change tracking for quick rollback.
 */
export function withFacts(
  checked: PreflightResult,
  index: number,
  quickRollback: boolean,
  facts: HypervisorFacts,
): PreflightResult {
  const result: PreflightResult = { ...checked, refusals: [...checked.refusals], spaceFreeBytes: facts.freeSpaceBytes };
  if (facts.unreachable) {
    result.refusals.push({
      field: `items.${index}.replicaId`,
      code: "INVALID_STATE",
      message: `The hosts of this failback cannot be checked: ${facts.unreachable}`,
    });
  }
  if (result.spaceFreeBytes !== null && result.spaceFreeBytes < result.spaceNeededBytes) {
    result.refusals.push({
      field: `items.${index}.target`,
      code: "INVALID_STATE",
      message: `Not enough space on the target: ${result.spaceNeededBytes} bytes needed, ${result.spaceFreeBytes} free.`,
    });
  }
  if (result.quickRollback.reason === notCheckedYet) {
    result.quickRollback = quickRollbackFrom(facts);
    const { allowed, reason } = result.quickRollback;
    if (quickRollback && !allowed) refuseQuickRollback(result, index, reason ?? "");
  }
  result.ok = result.refusals.length === 0;
  return result;
}
