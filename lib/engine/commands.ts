// What operators ask of a running failback: switch now, change or cancel the switch time, commit, undo,
// cancel, retry. Each locks the items it touches, checks the move with the pure state machine (a refusal is a
// typed INVALID_STATE and changes nothing, on the hypervisor least of all), records the intent, an event and
// an audit row in one transaction, and returns the items a worker should look at.
import { and, eq, inArray } from "drizzle-orm";
import type { Db, Tx } from "@/lib/db/client";
import { appendAudit } from "@/lib/db/queries/audit";
import { failbackItems, failbackSessions, failbackSteps, switchSchedules, type FailbackItem } from "@/lib/db/schema";
import { AppError } from "@/lib/errors";
import { appendEvent } from "@/lib/events/events";
import { ensurePlanSteps, moveItem, planOptionsOf, skipRemainingSteps } from "./item-records";
import { isRunnablePlan, phaseOf, type RunnablePlan } from "./plans";
import { resolveSwitchTime, switchTimeErrorField } from "./switch-time";
import { InvalidTransitionError, planForCommand, terminalStates } from "./transitions";
import type { EngineActor } from "./types";

export interface CommandResult {
  sessionId: string;
  /** Items a worker should pick up now. */
  itemIds: string[];
  message: string;
  /** A new switch time (change switch time): the schedule job to send. */
  schedule?: { id: string; runAt: Date };
}

type Session = typeof failbackSessions.$inferSelect;

/**
 * Locks the session's items, then the session: the same order as a worker's transaction (its item, then the
 * session's summary), so the two can never wait for each other in a circle.
 */
async function lockSession(tx: Tx, sessionId: string): Promise<{ session: Session; items: FailbackItem[] }> {
  const locked = await tx
    .select()
    .from(failbackItems)
    .where(eq(failbackItems.sessionId, sessionId))
    .orderBy(failbackItems.id)
    .for("update");
  const [session] = await tx
    .select()
    .from(failbackSessions)
    .where(eq(failbackSessions.id, sessionId))
    .for("no key update");
  if (!session) throw new AppError("NOT_FOUND", "No such failback session.");
  const items = [...locked].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  return { session, items };
}

function pickItems(items: FailbackItem[], itemId: string | undefined): FailbackItem[] {
  if (!itemId) return items;
  const item = items.find((i) => i.id === itemId);
  if (!item) throw new AppError("NOT_FOUND", "No such VM in this failback session.");
  return [item];
}

async function audit(
  tx: Tx,
  actor: EngineActor,
  action: string,
  sessionId: string,
  details: Record<string, unknown>,
  reason?: string,
) {
  await appendAudit(tx, {
    actorUserId: actor.userId,
    actorLabel: actor.label,
    action,
    outcome: "ok",
    targetType: "failback_session",
    targetId: sessionId,
    reason: reason ?? null,
    clientIp: actor.clientIp ?? null,
    userAgent: actor.userAgent ?? null,
    details,
  });
}

function invalid(message: string): AppError {
  return new AppError("INVALID_STATE", message);
}

/** Where a needs_attention item stopped, in planForCommand's terms. */
const stoppedIn = (item: FailbackItem) =>
  item.resumeState === "phase1" || item.resumeState === "pending" ? "phase1" : "switching";

export async function switchNow(
  db: Db,
  actor: EngineActor,
  sessionId: string,
  itemId?: string,
): Promise<CommandResult> {
  return db.transaction(async (tx) => {
    const { items } = await lockSession(tx, sessionId);
    const chosen = pickItems(items, itemId);
    const eligible = (i: FailbackItem) =>
      !i.switchRequested &&
      !i.cancelRequested &&
      (i.state === "ready_to_switch"
        ? i.activePlan === null
        : !itemId && (i.state === "pending" || (i.state === "phase1" && i.activePlan === "phase1")));
    const targets = chosen.filter(eligible);
    if (targets.length === 0) {
      const one = chosen[0];
      if (itemId && one) throw new InvalidTransitionError(one.state, "switch");
      throw invalid("No VM of this session is waiting to switch.");
    }
    await tx
      .update(failbackItems)
      .set({ switchRequested: true, updatedAt: new Date() })
      .where(
        inArray(
          failbackItems.id,
          targets.map((i) => i.id),
        ),
      );
    for (const item of targets) {
      await appendEvent(tx, {
        sessionId,
        itemId: item.id,
        type: "switch.requested",
        payload: { by: actor.label, now: item.state === "ready_to_switch" },
      });
    }
    await audit(tx, actor, "failback.switch_now", sessionId, { items: targets.map((i) => i.id) });
    return {
      sessionId,
      itemIds: targets.map((i) => i.id),
      message: `Switching ${targets.length} VM${targets.length === 1 ? "" : "s"} now.`,
    };
  });
}

export async function commit(db: Db, actor: EngineActor, sessionId: string, itemId?: string): Promise<CommandResult> {
  return planCommand(db, actor, sessionId, itemId, "commit", "failback.commit", () => "commit");
}

export async function undo(db: Db, actor: EngineActor, sessionId: string, itemId?: string): Promise<CommandResult> {
  return planCommand(db, actor, sessionId, itemId, "undo", "failback.undo", (item) => {
    if (item.state === "needs_attention") {
      if (
        item.activePlan === "undo_after_switch" ||
        item.activePlan === "undo_before_switch" ||
        item.activePlan === "cancel_phase1"
      )
        return item.activePlan;
      if (item.resumeState === "ready_to_switch") return "undo_before_switch";
    }
    const plan = planForCommand(item.state, "undo", stoppedIn(item));
    return plan as RunnablePlan;
  });
}

export async function cancel(db: Db, actor: EngineActor, sessionId: string, itemId?: string): Promise<CommandResult> {
  return db.transaction(async (tx) => {
    const { items } = await lockSession(tx, sessionId);
    const chosen = pickItems(items, itemId).filter((i) => !terminalStates.includes(i.state));
    const touched: string[] = [];
    let refusal: Error | null = null;
    for (const item of chosen) {
      try {
        planForCommand(item.state, "cancel", stoppedIn(item));
      } catch (err) {
        refusal ??= err as Error;
        continue;
      }
      if (item.state === "phase1" && item.activePlan === "phase1") {
        if (item.cancelRequested) continue;
        // The running worker sees this at its next heartbeat and stops the transfer at a safe point.
        await tx
          .update(failbackItems)
          .set({ cancelRequested: true, updatedAt: new Date() })
          .where(eq(failbackItems.id, item.id));
      } else {
        await startPlan(tx, item, "cancel_phase1", item.state === "needs_attention" ? "phase1" : item.state);
      }
      await appendEvent(tx, { sessionId, itemId: item.id, type: "cancel.requested", payload: { by: actor.label } });
      touched.push(item.id);
    }
    if (touched.length === 0) throw refusal ?? invalid("Nothing in this session can be cancelled.");
    await audit(tx, actor, "failback.cancel", sessionId, { items: touched });
    return {
      sessionId,
      itemIds: touched,
      message: "Cancelling: phase 1 stops at a safe point; production's base disks stay untouched.",
    };
  });
}

export async function retry(db: Db, actor: EngineActor, sessionId: string, itemId?: string): Promise<CommandResult> {
  return db.transaction(async (tx) => {
    const { items } = await lockSession(tx, sessionId);
    const chosen = pickItems(items, itemId).filter((i) => i.state === "needs_attention");
    if (chosen.length === 0)
      throw itemId
        ? new InvalidTransitionError(pickItems(items, itemId)[0]?.state ?? "pending", "retry")
        : invalid("No VM of this session needs attention.");
    for (const item of chosen) {
      if (!isRunnablePlan(item.activePlan) || !item.resumeState) throw invalid("This VM has no stopped step to retry.");
      await tx
        .update(failbackSteps)
        .set({ state: "pending", attempts: 0, finishedAt: null })
        .where(
          and(
            eq(failbackSteps.itemId, item.id),
            eq(failbackSteps.phase, phaseOf(item.activePlan)),
            eq(failbackSteps.state, "failed"),
          ),
        );
      await moveItem(
        tx,
        item,
        item.resumeState,
        { resumeState: null, attentionReason: null },
        "retry requested",
        actor.label,
      );
    }
    await audit(tx, actor, "failback.retry", sessionId, { items: chosen.map((i) => i.id) });
    return { sessionId, itemIds: chosen.map((i) => i.id), message: "Retrying the stopped step." };
  });
}

async function planCommand(
  db: Db,
  actor: EngineActor,
  sessionId: string,
  itemId: string | undefined,
  command: "commit" | "undo",
  action: string,
  choose: (item: FailbackItem) => RunnablePlan,
): Promise<CommandResult> {
  return db.transaction(async (tx) => {
    const { items } = await lockSession(tx, sessionId);
    const chosen = pickItems(items, itemId).filter((i) => !terminalStates.includes(i.state) || itemId);
    const touched: string[] = [];
    let refusal: Error | null = null;
    for (const item of chosen) {
      let plan: RunnablePlan;
      try {
        if (command === "commit") planForCommand(item.state, "commit");
        plan = choose(item);
        if (item.state !== "needs_attention" && item.activePlan !== null)
          throw invalid(`A ${item.activePlan.replace(/_/g, " ")} is running for this VM.`);
      } catch (err) {
        refusal ??= err as Error;
        continue;
      }
      const state =
        item.state === "needs_attention"
          ? plan === "cancel_phase1"
            ? "phase1"
            : (item.resumeState ?? item.state)
          : item.state;
      await startPlan(tx, item, plan, state);
      await appendEvent(tx, {
        sessionId,
        itemId: item.id,
        type: `${command}.requested`,
        payload: { by: actor.label, plan },
      });
      touched.push(item.id);
    }
    if (touched.length === 0) {
      if (refusal instanceof InvalidTransitionError) throw new AppError("INVALID_STATE", refusal.message);
      throw refusal ?? invalid(`Nothing in this session can be ${command === "commit" ? "committed" : "undone"}.`);
    }
    await audit(tx, actor, action, sessionId, { items: touched });
    return {
      sessionId,
      itemIds: touched,
      message:
        command === "commit"
          ? "Committing: the replicas return to ready and replication resumes."
          : "Undoing: production powers off and the replicas run again in failover.",
    };
  });
}

/** Puts `plan` on the item (leaving what it was doing, shown as skipped), in state `state`. */
async function startPlan(tx: Tx, item: FailbackItem, plan: RunnablePlan, state: FailbackItem["state"]): Promise<void> {
  if (isRunnablePlan(item.activePlan) && item.activePlan !== plan)
    await skipRemainingSteps(tx, item.id, item.activePlan);
  if (item.activePlan === plan) {
    // Undo asked again after the undo itself stopped: its failed step runs again.
    await tx
      .update(failbackSteps)
      .set({ state: "pending", attempts: 0, finishedAt: null })
      .where(
        and(
          eq(failbackSteps.itemId, item.id),
          eq(failbackSteps.phase, phaseOf(plan)),
          eq(failbackSteps.state, "failed"),
        ),
      );
  }
  await tx
    .update(failbackItems)
    .set({ activePlan: plan, cancelRequested: false, updatedAt: new Date() })
    .where(eq(failbackItems.id, item.id));
  const [session] = await tx.select().from(failbackSessions).where(eq(failbackSessions.id, item.sessionId));
  await ensurePlanSteps(tx, item, plan, planOptionsOf(item, session as Session));
  await moveItem(
    tx,
    { ...item, activePlan: plan },
    state,
    { resumeState: null, attentionReason: null },
    `${plan} requested`,
  );
}

// ── switch schedule ───────────────────────────────────────────────────────────────────────────

export async function changeSwitchTime(
  db: Db,
  actor: EngineActor,
  sessionId: string,
  local: string,
  timeZone: string,
  now = new Date(),
): Promise<CommandResult> {
  const resolved = resolveSwitchTime(local, timeZone, now);
  if (!resolved.ok) {
    throw new AppError("VALIDATION", resolved.error.message, {
      [switchTimeErrorField(resolved.error)]: [resolved.error.message],
    });
  }
  return db.transaction(async (tx) => {
    const { session, items } = await lockSession(tx, sessionId);
    if (session.switchMode !== "scheduled")
      throw invalid("This session has no switch schedule (its switch mode is " + session.switchMode + ").");
    const [schedule] = await tx
      .select()
      .from(switchSchedules)
      .where(and(eq(switchSchedules.sessionId, sessionId), eq(switchSchedules.state, "pending")))
      .for("update");
    if (!schedule) throw invalid("The scheduled switch has already started or was cancelled.");
    if (!items.some((i) => ["pending", "phase1", "ready_to_switch"].includes(i.state)))
      throw invalid("No VM of this session is waiting to switch.");
    await tx
      .update(switchSchedules)
      .set({ runAt: resolved.instant, timeZone, updatedAt: new Date() })
      .where(eq(switchSchedules.id, schedule.id));
    await appendEvent(tx, {
      sessionId,
      type: "schedule.changed",
      payload: { by: actor.label, from: schedule.runAt.toISOString(), to: resolved.instant.toISOString(), timeZone },
    });
    await audit(tx, actor, "failback.schedule.change", sessionId, {
      from: schedule.runAt.toISOString(),
      to: resolved.instant.toISOString(),
      timeZone,
    });
    return {
      sessionId,
      itemIds: [],
      message: "Switch time changed.",
      schedule: { id: schedule.id, runAt: resolved.instant },
    };
  });
}

/** Cancel schedule: the session turns to manual switching. */
export async function cancelSchedule(db: Db, actor: EngineActor, sessionId: string): Promise<CommandResult> {
  return db.transaction(async (tx) => {
    const { session } = await lockSession(tx, sessionId);
    if (session.switchMode !== "scheduled") throw invalid("This session has no switch schedule.");
    const [schedule] = await tx
      .select()
      .from(switchSchedules)
      .where(and(eq(switchSchedules.sessionId, sessionId), eq(switchSchedules.state, "pending")))
      .for("update");
    if (!schedule) throw invalid("The scheduled switch has already started or was cancelled.");
    await tx
      .update(switchSchedules)
      .set({ state: "cancelled", updatedAt: new Date() })
      .where(eq(switchSchedules.id, schedule.id));
    await tx
      .update(failbackSessions)
      .set({ switchMode: "manual", updatedAt: new Date() })
      .where(eq(failbackSessions.id, sessionId));
    await appendEvent(tx, {
      sessionId,
      type: "schedule.cancelled",
      payload: { by: actor.label, runAt: schedule.runAt.toISOString() },
    });
    await audit(tx, actor, "failback.schedule.cancel", sessionId, { runAt: schedule.runAt.toISOString() });
    return { sessionId, itemIds: [], message: "Schedule cancelled: switch each VM with Switch now." };
  });
}

/**
 * The switch time came (a schedule job, or the sweep found it due): exactly once, by compare-and-set on the
 * schedule's state. Items still in phase 1 switch as soon as it ends.
 */
export async function fireSchedule(db: Db, scheduleId: string): Promise<CommandResult | null> {
  return db
    .transaction(async (tx) => {
      // Items first, then the schedule: the order every command takes (no circular waits).
      const [target] = await tx
        .select({ sessionId: switchSchedules.sessionId })
        .from(switchSchedules)
        .where(eq(switchSchedules.id, scheduleId));
      if (!target) return null;
      const items = await tx
        .select()
        .from(failbackItems)
        .where(eq(failbackItems.sessionId, target.sessionId))
        .orderBy(failbackItems.id)
        .for("update");
      const [started] = await tx
        .update(switchSchedules)
        .set({ state: "started", updatedAt: new Date() })
        .where(and(eq(switchSchedules.id, scheduleId), eq(switchSchedules.state, "pending")))
        .returning();
      if (!started) return null;
      if (started.runAt.getTime() > Date.now() + 500) {
        // Not yet (an old job after the time was moved later): undo the claim by rolling back.
        throw new NotDueYet();
      }
      const sessionId = started.sessionId;
      const targets = items.filter(
        (i) => ["pending", "phase1", "ready_to_switch"].includes(i.state) && !i.cancelRequested,
      );
      if (targets.length)
        await tx
          .update(failbackItems)
          .set({ switchRequested: true, updatedAt: new Date() })
          .where(
            inArray(
              failbackItems.id,
              targets.map((i) => i.id),
            ),
          );
      await appendEvent(tx, {
        sessionId,
        type: "schedule.started",
        payload: { runAt: started.runAt.toISOString(), timeZone: started.timeZone, items: targets.length },
      });
      await appendAudit(tx, {
        actorLabel: "engine",
        action: "failback.schedule.fire",
        outcome: "ok",
        targetType: "failback_session",
        targetId: sessionId,
        details: { scheduleId, runAt: started.runAt.toISOString() },
      });
      return { sessionId, itemIds: targets.map((i) => i.id), message: "Scheduled switch started." };
    })
    .catch((err) => {
      if (err instanceof NotDueYet) return null;
      throw err;
    });
}

class NotDueYet extends Error {}
