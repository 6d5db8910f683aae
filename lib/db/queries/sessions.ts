// Reading failback sessions for pages, the API and the command line: lists, one session with its items,
// steps and schedule, and the upcoming switches. Writes belong to the engine (lib/engine).
import { and, asc, count, desc, eq, inArray, sql, type SQL } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import type { DbOrTx } from "@/lib/db/client";
import {
  failbackItems,
  failbackSessions,
  failbackSteps,
  replicas,
  switchSchedules,
  users,
  vms,
  type FailbackSession,
  type FailbackStep,
  type ItemState,
  type SwitchSchedule,
} from "@/lib/db/schema";

export interface SessionSummary {
  id: string;
  state: ItemState;
  switchMode: FailbackSession["switchMode"];
  quickRollback: boolean;
  reason: string;
  createdAt: Date;
  finishedAt: Date | null;
  createdByEmail: string | null;
  items: number;
  /** Names of the replicas' source VMs, in item order. */
  vmNames: string[];
  nextSwitchAt: Date | null;
}

export interface SessionListFilter {
  state?: ItemState;
  /** Only sessions with an item in a non-final state. */
  live?: boolean;
  limit?: number;
  offset?: number;
}

export async function listSessions(db: DbOrTx, filter: SessionListFilter = {}): Promise<SessionSummary[]> {
  const where: SQL[] = [];
  if (filter.state) where.push(eq(failbackSessions.state, filter.state));
  if (filter.live) where.push(sql`${failbackSessions.finishedAt} is null`);
  const rows = await db
    .select({
      session: failbackSessions,
      createdByEmail: users.email,
      items: sql<number>`(select count(*)::int from ${failbackItems} where ${failbackItems.sessionId} = ${failbackSessions.id})`,
      nextSwitchAt: sql<Date | null>`(select min(${switchSchedules.runAt}) from ${switchSchedules} where ${switchSchedules.sessionId} = ${failbackSessions.id} and ${switchSchedules.state} = 'pending')`,
    })
    .from(failbackSessions)
    .leftJoin(users, eq(users.id, failbackSessions.createdBy))
    .where(where.length ? and(...where) : undefined)
    .orderBy(desc(failbackSessions.createdAt))
    .limit(Math.min(filter.limit ?? 50, 500))
    .offset(filter.offset ?? 0);
  const ids = rows.map((r) => r.session.id);
  const names = ids.length
    ? await db
        .select({ sessionId: failbackItems.sessionId, name: vms.name })
        .from(failbackItems)
        .innerJoin(replicas, eq(replicas.id, failbackItems.replicaId))
        .innerJoin(vms, eq(vms.id, failbackItems.originalSourceVmId))
        .where(inArray(failbackItems.sessionId, ids))
        .orderBy(asc(failbackItems.createdAt))
    : [];
  return rows.map((r) => ({
    id: r.session.id,
    state: r.session.state,
    switchMode: r.session.switchMode,
    quickRollback: r.session.quickRollback,
    reason: r.session.reason,
    createdAt: r.session.createdAt,
    finishedAt: r.session.finishedAt,
    createdByEmail: r.createdByEmail,
    items: r.items,
    vmNames: names.filter((n) => n.sessionId === r.session.id).map((n) => n.name),
    nextSwitchAt: r.nextSwitchAt ? new Date(r.nextSwitchAt) : null,
  }));
}

export interface SessionItemDetail {
  id: string;
  replicaId: string;
  state: ItemState;
  activePlan: string | null;
  /** needs_attention: where the VM stopped (phase 1, or at or after the switch). */
  resumeState: ItemState | null;
  attentionReason: string | null;
  targetKind: (typeof failbackItems.$inferSelect)["targetKind"];
  targetVmName: string | null;
  sourceVmName: string;
  replicaVmName: string;
  switchRequested: boolean;
  cancelRequested: boolean;
  steps: Omit<FailbackStep, "checkpoint">[];
}

export interface SessionDetail {
  session: FailbackSession & { createdByEmail: string | null };
  items: SessionItemDetail[];
  schedule: SwitchSchedule | null;
}

export async function getSessionDetail(db: DbOrTx, sessionId: string): Promise<SessionDetail | null> {
  const [row] = await db
    .select({ session: failbackSessions, createdByEmail: users.email })
    .from(failbackSessions)
    .leftJoin(users, eq(users.id, failbackSessions.createdBy))
    .where(eq(failbackSessions.id, sessionId));
  if (!row) return null;
  const targetVm = alias(vms, "target_vm");
  const sourceVm = alias(vms, "source_vm");
  const replicaVm = alias(vms, "replica_vm");
  const itemRows = await db
    .select({
      item: failbackItems,
      targetVmName: targetVm.name,
      sourceVmName: sourceVm.name,
      replicaVmName: replicaVm.name,
    })
    .from(failbackItems)
    .innerJoin(replicas, eq(replicas.id, failbackItems.replicaId))
    .innerJoin(replicaVm, eq(replicaVm.id, replicas.replicaVmId))
    .innerJoin(sourceVm, eq(sourceVm.id, sql`coalesce(${failbackItems.originalSourceVmId}, ${replicas.sourceVmId})`))
    .leftJoin(targetVm, eq(targetVm.id, failbackItems.targetVmId))
    .where(eq(failbackItems.sessionId, sessionId))
    .orderBy(asc(failbackItems.createdAt));
  const itemIds = itemRows.map((r) => r.item.id);
  const steps = itemIds.length
    ? await db
        .select({
          id: failbackSteps.id,
          itemId: failbackSteps.itemId,
          phase: failbackSteps.phase,
          seq: failbackSteps.seq,
          name: failbackSteps.name,
          state: failbackSteps.state,
          attempts: failbackSteps.attempts,
          lastError: failbackSteps.lastError,
          startedAt: failbackSteps.startedAt,
          finishedAt: failbackSteps.finishedAt,
        })
        .from(failbackSteps)
        .where(inArray(failbackSteps.itemId, itemIds))
        .orderBy(asc(failbackSteps.phase), asc(failbackSteps.seq))
    : [];
  const [schedule] = await db
    .select()
    .from(switchSchedules)
    .where(eq(switchSchedules.sessionId, sessionId))
    .orderBy(desc(switchSchedules.createdAt))
    .limit(1);
  return {
    session: { ...row.session, createdByEmail: row.createdByEmail },
    items: itemRows.map((r) => ({
      id: r.item.id,
      replicaId: r.item.replicaId,
      state: r.item.state,
      activePlan: r.item.activePlan,
      resumeState: r.item.resumeState,
      attentionReason: r.item.attentionReason,
      targetKind: r.item.targetKind,
      targetVmName: r.targetVmName,
      sourceVmName: r.sourceVmName,
      replicaVmName: r.replicaVmName,
      switchRequested: r.item.switchRequested,
      cancelRequested: r.item.cancelRequested,
      steps: steps.filter((s) => s.itemId === r.item.id),
    })),
    schedule: schedule ?? null,
  };
}

export interface UpcomingSwitch {
  scheduleId: string;
  sessionId: string;
  runAt: Date;
  timeZone: string;
  vmNames: string[];
}

export async function listUpcomingSwitches(db: DbOrTx, limit = 100): Promise<UpcomingSwitch[]> {
  const rows = await db
    .select({
      scheduleId: switchSchedules.id,
      sessionId: switchSchedules.sessionId,
      runAt: switchSchedules.runAt,
      timeZone: switchSchedules.timeZone,
    })
    .from(switchSchedules)
    .where(eq(switchSchedules.state, "pending"))
    .orderBy(asc(switchSchedules.runAt))
    .limit(limit);
  const sessions = rows.map((r) => r.sessionId);
  const names = sessions.length
    ? await db
        .select({ sessionId: failbackItems.sessionId, name: vms.name })
        .from(failbackItems)
        .innerJoin(vms, eq(vms.id, failbackItems.originalSourceVmId))
        .where(inArray(failbackItems.sessionId, sessions))
    : [];
  return rows.map((r) => ({ ...r, vmNames: names.filter((n) => n.sessionId === r.sessionId).map((n) => n.name) }));
}

export async function countItemsNeedingAttention(db: DbOrTx): Promise<number> {
  const [row] = await db.select({ n: count() }).from(failbackItems).where(eq(failbackItems.state, "needs_attention"));
  return row?.n ?? 0;
}
