// How a run moves its item between plans and states: which plan starts next, finishing a plan, switching a
// phase 1 to the cancel plan, and parking the item for an operator when a step gives up or the engine itself
// fails. Each move is one fenced transaction that re-checks the item's state and plan (moveItem's
// compare-and-set), so a command that changed the item meanwhile wins. The step loop is in runner.ts.
import { describeError } from "@/lib/errors";
import { eq } from "drizzle-orm";
import type { Db, Tx } from "@/lib/db/client";
import { failbackItems, failbackSessions, type FailbackItem } from "@/lib/db/schema";
import { appendEvent } from "@/lib/events/events";
import type { HeldLease } from "./held-lease";
import { ensurePlanSteps, moveItem, planOptionsOf, skipRemainingSteps } from "./item-records";
import type { RunnablePlan } from "./plans";
import { itemStateAfter, type EngineEvent } from "./transitions";

export type ItemWithSession = FailbackItem & { session: typeof failbackSessions.$inferSelect };

/** The state-machine event a finished plan fires. */
const finishEvent: Record<RunnablePlan, EngineEvent> = {
  phase1: "phase1_done",
  phase2: "switch_done",
  commit: "commit_done",
  undo_after_switch: "undo_done",
  undo_before_switch: "undo_done",
  cancel_phase1: "cancel_done",
};

/** The item and its session as they are now: every turn of the loop re-reads them (commands change them). */
export async function loadItem(db: Db, itemId: string): Promise<ItemWithSession> {
  const [row] = await db
    .select({ item: failbackItems, session: failbackSessions })
    .from(failbackItems)
    .innerJoin(failbackSessions, eq(failbackSessions.id, failbackItems.sessionId))
    .where(eq(failbackItems.id, itemId));
  if (!row) throw new Error(`item ${itemId} vanished`);
  return { ...row.item, session: row.session };
}

function nextPlan(item: ItemWithSession): RunnablePlan | null {
  if (item.state === "pending") return "phase1";
  if (item.state === "ready_to_switch" && (item.switchRequested || item.session.switchMode === "auto")) return "phase2";
  return null;
}

/** Starts the plan an item without one runs next; false when it has none to run now (it waits). */
export async function startNextPlan(held: HeldLease, item: ItemWithSession): Promise<boolean> {
  const next = nextPlan(item);
  if (!next) return false;
  await held.tx(async (tx) => {
    const started =
      next === "phase1"
        ? itemStateAfter(item.state, "phase1_started")
        : next === "phase2"
          ? itemStateAfter(item.state, "switch_started")
          : item.state;
    if (!(await moveItem(tx, item, started, { activePlan: next }, `${next} started`))) return;
    await ensurePlanSteps(tx, item, next, planOptionsOf(item, item.session));
  });
  return true;
}

/** Phase 1 stops where it is (its remaining steps shown as skipped) and the cancel plan takes over. */
export async function switchToCancel(held: HeldLease, item: FailbackItem): Promise<void> {
  await held.tx(async (tx) => {
    await skipRemainingSteps(tx, item.id, "phase1");
    if (
      !(await moveItem(
        tx,
        item,
        item.state,
        { activePlan: "cancel_phase1", cancelRequested: false },
        "cancel requested",
      ))
    )
      return;
    await ensurePlanSteps(
      tx,
      item,
      "cancel_phase1",
      planOptionsOf(item, { quickRollback: false, powerOnAfter: false }),
    );
    await appendEvent(tx, {
      sessionId: item.sessionId,
      itemId: item.id,
      type: "plan.cancel",
      payload: { message: "Cancel: phase 1 stopped at a safe point." },
    });
  });
}

/** Every step of the plan is done: the item moves on (a phase 1 with a cancel request goes to cancel instead). */
export async function finishPlan(held: HeldLease, item: FailbackItem, plan: RunnablePlan): Promise<void> {
  if (plan === "phase1" && item.cancelRequested) return switchToCancel(held, item);
  const to = itemStateAfter(item.state, finishEvent[plan]);
  await held.tx(async (tx) => {
    await moveItem(tx, item, to, { activePlan: null, resumeState: null, attentionReason: null }, `${plan} done`);
  });
}

/** A step failed for good (inside its failure transaction): the item waits for an operator, the reason named. */
export async function parkAfterStepGaveUp(tx: Tx, itemId: string, reason: string): Promise<void> {
  const current = (await tx.select().from(failbackItems).where(eq(failbackItems.id, itemId)))[0] as FailbackItem;
  await moveItem(
    tx,
    current,
    itemStateAfter(current.state, "step_gave_up"),
    { resumeState: current.state, attentionReason: reason },
    "step gave up",
  );
}

/**
 * Not a step's failure (those are handled per step) but an engine fault: recorded, and a running item parked for
 * an operator rather than restarted by the sweep in a tight loop.
 */
export async function giveUp(held: HeldLease, err: unknown): Promise<void> {
  const message = `internal error: ${describeError(err)}`;
  await held.tx(async (tx) => {
    const [item] = await tx.select().from(failbackItems).where(eq(failbackItems.id, held.lease.itemId));
    if (!item) return;
    await appendEvent(tx, {
      sessionId: item.sessionId,
      itemId: item.id,
      type: "engine.error",
      payload: { error: message },
    });
    if (["phase1", "switching", "switched", "ready_to_switch"].includes(item.state) && item.activePlan) {
      await moveItem(
        tx,
        item,
        "needs_attention",
        { resumeState: item.state, attentionReason: message },
        "engine error",
      );
    }
  });
}
