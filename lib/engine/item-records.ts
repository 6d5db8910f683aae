// The runner's database writes that are not step-specific: plan start and finish, attention, the session's
// summary state. All take a transaction the caller has fenced.
import { and, asc, eq, inArray, isNull, sql } from "drizzle-orm";
import type { Tx } from "@/lib/db/client";
import { appendAudit } from "@/lib/db/queries/audit";
import { failbackItems, failbackSessions, failbackSteps, type FailbackItem, type ItemState } from "@/lib/db/schema";
import { appendEvent } from "@/lib/events/events";
import { phaseOf, stepsOf, type PlanOptions, type RunnablePlan } from "./plans";
import { sessionStateOf, terminalStates } from "./transitions";

export function planOptionsOf(
  item: FailbackItem,
  session: { quickRollback: boolean; powerOnAfter: boolean },
): PlanOptions {
  return { target: item.targetKind, quickRollback: session.quickRollback, powerOnAfter: session.powerOnAfter };
}

/** Records the plan's steps (pending) once: a plan started again after a crash finds its rows. */
export async function ensurePlanSteps(
  tx: Tx,
  item: FailbackItem,
  plan: RunnablePlan,
  options: PlanOptions,
): Promise<void> {
  const phase = phaseOf(plan);
  const steps = stepsOf(plan, options);
  await tx
    .insert(failbackSteps)
    .values(steps.map((s, seq) => ({ itemId: item.id, phase, seq, name: s.kind })))
    .onConflictDoNothing({ target: [failbackSteps.itemId, failbackSteps.phase, failbackSteps.seq] });
}

export async function stepsOfPlan(tx: Tx, itemId: string, plan: RunnablePlan) {
  return tx
    .select()
    .from(failbackSteps)
    .where(and(eq(failbackSteps.itemId, itemId), eq(failbackSteps.phase, phaseOf(plan))))
    .orderBy(asc(failbackSteps.seq));
}

/**
 * Moves the item from `from` to `to` with `set`, compare-and-set on the state and plan it was read with: a
 * command that changed the item meanwhile wins, and this returns false.
 */
export async function moveItem(
  tx: Tx,
  item: FailbackItem,
  to: ItemState,
  set: Partial<typeof failbackItems.$inferInsert>,
  why: string,
  actorLabel = "engine",
): Promise<boolean> {
  const moved = await tx
    .update(failbackItems)
    .set({ ...set, state: to, updatedAt: new Date() })
    .where(
      and(
        eq(failbackItems.id, item.id),
        eq(failbackItems.state, item.state),
        item.activePlan === null ? isNull(failbackItems.activePlan) : eq(failbackItems.activePlan, item.activePlan),
      ),
    )
    .returning({ id: failbackItems.id });
  if (moved.length !== 1) return false;
  if (to !== item.state) {
    await appendEvent(tx, {
      sessionId: item.sessionId,
      itemId: item.id,
      type: "item.state",
      payload: { from: item.state, to, why },
    });
    await appendAudit(tx, {
      actorLabel,
      action: `failback.item.${to}`,
      outcome: "ok",
      targetType: "failback_item",
      targetId: item.id,
      details: { from: item.state, to, why, session: item.sessionId },
    });
  }
  await refreshSessionState(tx, item.sessionId);
  return true;
}

/** The session's state summarises its items; finishedAt is set once every item is finished. */
export async function refreshSessionState(tx: Tx, sessionId: string): Promise<void> {
  const items = await tx
    .select({ state: failbackItems.state })
    .from(failbackItems)
    .where(eq(failbackItems.sessionId, sessionId));
  const states = items.map((i) => i.state);
  const state = sessionStateOf(states);
  const finished = states.length > 0 && states.every((s) => terminalStates.includes(s));
  // "no key update": compatible with the key-share locks that inserting an event (a foreign key to the session)
  // takes, so two workers finishing items of one session at once queue here instead of deadlocking.
  const [before] = await tx
    .select({ state: failbackSessions.state })
    .from(failbackSessions)
    .where(eq(failbackSessions.id, sessionId))
    .for("no key update");
  if (before?.state === state) return;
  await tx
    .update(failbackSessions)
    .set({
      state,
      updatedAt: new Date(),
      finishedAt: finished ? sql`coalesce(${failbackSessions.finishedAt}, now())` : null,
    })
    .where(eq(failbackSessions.id, sessionId));
  await appendEvent(tx, { sessionId, type: "session.state", payload: { from: before?.state, to: state } });
}

/** Steps of a plan that will not run now (cancel interrupted phase 1): shown as skipped, honestly. */
export async function skipRemainingSteps(tx: Tx, itemId: string, plan: RunnablePlan): Promise<void> {
  await tx
    .update(failbackSteps)
    .set({ state: "skipped", finishedAt: new Date() })
    .where(
      and(
        eq(failbackSteps.itemId, itemId),
        eq(failbackSteps.phase, phaseOf(plan)),
        inArray(failbackSteps.state, ["pending", "running", "failed"]),
      ),
    );
}
