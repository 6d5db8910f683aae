// The operator commands on a running failback's VMs: switch now, commit, undo, cancel, retry. Each locks the
// session, asks the legality rules (lib/engine/legality.ts) which VMs allow it — a refusal is a typed
// INVALID_STATE and changes nothing, on the hypervisor least of all — and records the intent and its events in
// the caller's transaction. The catalogue (lib/commands/catalog.ts) adds the audit row and the nudge.
import { eq } from "drizzle-orm";
import type { Tx } from "@/lib/db/client";
import { failbackItems, type FailbackItem } from "@/lib/db/schema";
import { AppError } from "@/lib/errors";
import { appendEvent } from "@/lib/events/events";
import { moveItem } from "../item-records";
import { itemAllows, itemsForSessionCommand, refusalOf, undoPlanFor, type ItemCommand } from "../legality";
import { isRunnablePlan, type RunnablePlan } from "../plans";
import { InvalidTransitionError, terminalStates } from "../transitions";
import type { EngineActor } from "../types";
import { lockSession, pickItems, requestSwitch, resetFailedSteps, startPlan, type Session } from "./locking";

export interface ItemCommandInput {
  sessionId: string;
  /** One VM of the session; every VM that allows the command when absent. */
  itemId?: string;
}

export interface CommandResult {
  sessionId: string;
  /** Items a worker should pick up now. */
  itemIds: string[];
  message: string;
  /** A new switch time (change switch time): the schedule job to send. */
  schedule?: { id: string; runAt: Date };
}

/** The items the command acts on, or the refusal: for one VM its own reason, for a session the first one. */
async function targetsOf(
  tx: Tx,
  input: ItemCommandInput,
  command: Exclude<ItemCommand, "switch_when_synced">,
  nothing: string,
): Promise<{ session: Session; targets: FailbackItem[] }> {
  const { session, items } = await lockSession(tx, input.sessionId);
  const chosen = pickItems(items, input.itemId);
  const targets = input.itemId
    ? chosen.filter((item) => itemAllows(item, command))
    : itemsForSessionCommand(session, chosen, command);
  if (targets.length > 0) return { session, targets };
  const first = input.itemId ? chosen[0] : chosen.find((item) => !terminalStates.includes(item.state));
  if (first && input.itemId) throw new InvalidTransitionError(refusalOf(first, command));
  throw new InvalidTransitionError(nothing);
}

const vms = (n: number) => `${n} VM${n === 1 ? "" : "s"}`;

export async function switchNow(tx: Tx, actor: EngineActor, input: ItemCommandInput): Promise<CommandResult> {
  const { targets } = await targetsOf(tx, input, "switch_now", "No VM of this session is waiting to switch.");
  await requestSwitch(
    tx,
    targets.map((i) => i.id),
  );
  for (const item of targets) {
    await appendEvent(tx, {
      sessionId: input.sessionId,
      itemId: item.id,
      type: "switch.requested",
      payload: { by: actor.label, now: item.state === "ready_to_switch" },
    });
  }
  const itemIds = targets.map((i) => i.id);
  return { sessionId: input.sessionId, itemIds, message: `Switching ${vms(itemIds.length)} now.` };
}

export async function commit(tx: Tx, actor: EngineActor, input: ItemCommandInput): Promise<CommandResult> {
  const { session, targets } = await targetsOf(tx, input, "commit", "Nothing in this session can be committed now.");
  for (const item of targets) {
    await startPlan(tx, item, session, "commit", item.state);
    await requested(tx, actor, item, "commit.requested", "commit");
  }
  return {
    sessionId: input.sessionId,
    itemIds: targets.map((i) => i.id),
    message: "Committing: the replicas return to ready and replication resumes.",
  };
}

export async function undo(tx: Tx, actor: EngineActor, input: ItemCommandInput): Promise<CommandResult> {
  const { session, targets } = await targetsOf(tx, input, "undo", "Nothing in this session can be undone now.");
  for (const item of targets) {
    const plan = undoPlanFor(item);
    // A VM that stopped resumes the undo from where it stopped; cancel of phase 1 runs in phase 1.
    const state =
      item.state !== "needs_attention"
        ? item.state
        : plan === "cancel_phase1"
          ? "phase1"
          : (item.resumeState ?? item.state);
    await startPlan(tx, item, session, plan, state);
    await requested(tx, actor, item, "undo.requested", plan);
  }
  return {
    sessionId: input.sessionId,
    itemIds: targets.map((i) => i.id),
    message: "Undoing: production powers off and the replicas run again in failover.",
  };
}

export async function cancel(tx: Tx, actor: EngineActor, input: ItemCommandInput): Promise<CommandResult> {
  const { session, targets } = await targetsOf(tx, input, "cancel", "Nothing in this session can be cancelled now.");
  for (const item of targets) {
    if (item.state === "phase1" && item.activePlan === "phase1") {
      // The running worker sees this at its next heartbeat and stops the transfer at a safe point.
      await tx
        .update(failbackItems)
        .set({ cancelRequested: true, updatedAt: new Date() })
        .where(eq(failbackItems.id, item.id));
    } else {
      await startPlan(tx, item, session, "cancel_phase1", item.state === "needs_attention" ? "phase1" : item.state);
    }
    await appendEvent(tx, {
      sessionId: input.sessionId,
      itemId: item.id,
      type: "cancel.requested",
      payload: { by: actor.label },
    });
  }
  return {
    sessionId: input.sessionId,
    itemIds: targets.map((i) => i.id),
    message: "Cancelling: phase 1 stops at a safe point; production's base disks stay untouched.",
  };
}

export async function retry(tx: Tx, actor: EngineActor, input: ItemCommandInput): Promise<CommandResult> {
  const { targets } = await targetsOf(tx, input, "retry", "No VM of this session needs attention.");
  for (const item of targets) {
    if (!isRunnablePlan(item.activePlan) || !item.resumeState) throw new AppError("INVALID_STATE", "Nothing to retry.");
    await resetFailedSteps(tx, item.id, item.activePlan);
    await moveItem(
      tx,
      item,
      item.resumeState,
      { resumeState: null, attentionReason: null },
      "retry requested",
      actor.label,
    );
  }
  return { sessionId: input.sessionId, itemIds: targets.map((i) => i.id), message: "Retrying the stopped step." };
}

async function requested(
  tx: Tx,
  actor: EngineActor,
  item: FailbackItem,
  type: "commit.requested" | "undo.requested",
  plan: RunnablePlan,
): Promise<void> {
  await appendEvent(tx, { sessionId: item.sessionId, itemId: item.id, type, payload: { by: actor.label, plan } });
}
