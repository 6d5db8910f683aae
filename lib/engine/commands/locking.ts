// What every operator command does first: lock the session's items, then the session — the same order as a
// worker's transaction (its item, then the session's summary), so the two never wait for each other in a circle.
import { and, eq, inArray } from "drizzle-orm";
import type { Tx } from "@/lib/db/client";
import { failbackItems, failbackSessions, failbackSteps, type FailbackItem } from "@/lib/db/schema";
import { AppError } from "@/lib/errors";
import { ensurePlanSteps, moveItem, planOptionsOf, skipRemainingSteps } from "../item-records";
import { isRunnablePlan, phaseOf, type RunnablePlan } from "../plans";

export type Session = typeof failbackSessions.$inferSelect;

export async function lockSession(tx: Tx, sessionId: string): Promise<{ session: Session; items: FailbackItem[] }> {
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

/** The VM a command names, or every VM of the session. */
export function pickItems(items: FailbackItem[], itemId: string | undefined): FailbackItem[] {
  if (!itemId) return items;
  const item = items.find((i) => i.id === itemId);
  if (!item) throw new AppError("NOT_FOUND", "No such VM in this failback session.");
  return [item];
}

/** Marks items to switch as soon as each can: at once when waiting, else when its phase 1 ends. */
export async function requestSwitch(tx: Tx, itemIds: string[]): Promise<void> {
  if (itemIds.length === 0) return;
  await tx
    .update(failbackItems)
    .set({ switchRequested: true, updatedAt: new Date() })
    .where(inArray(failbackItems.id, itemIds));
}

/** Failed steps of the plan's phase become pending again: the stopped step runs again, from its checkpoint. */
export async function resetFailedSteps(tx: Tx, itemId: string, plan: RunnablePlan): Promise<void> {
  await tx
    .update(failbackSteps)
    .set({ state: "pending", attempts: 0, finishedAt: null })
    .where(
      and(eq(failbackSteps.itemId, itemId), eq(failbackSteps.phase, phaseOf(plan)), eq(failbackSteps.state, "failed")),
    );
}

/** Puts `plan` on the item (leaving what it was doing, shown as skipped), in state `state`. */
export async function startPlan(
  tx: Tx,
  item: FailbackItem,
  session: Session,
  plan: RunnablePlan,
  state: FailbackItem["state"],
): Promise<void> {
  if (isRunnablePlan(item.activePlan) && item.activePlan !== plan) {
    await skipRemainingSteps(tx, item.id, item.activePlan);
  }
  // Undo asked again after the undo itself stopped: its failed step runs again.
  if (item.activePlan === plan) await resetFailedSteps(tx, item.id, plan);
  await tx
    .update(failbackItems)
    .set({ activePlan: plan, cancelRequested: false, updatedAt: new Date() })
    .where(eq(failbackItems.id, item.id));
  await ensurePlanSteps(tx, item, plan, planOptionsOf(item, session));
  await moveItem(
    tx,
    { ...item, activePlan: plan },
    state,
    { resumeState: null, attentionReason: null },
    `${plan} requested`,
  );
}
