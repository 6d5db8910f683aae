// The runner: works on one item while holding its lease, one step at a time, until the item has to wait (for
// an operator, a switch time) or is finished. Every write goes through the held lease's fenced transactions, so
// a worker that lost its lease changes nothing; every step is an idempotent ensure, so a run resumed after a
// crash repeats nothing. This file is the entry and the loop over plans; the rest is in held-lease.ts (heartbeat,
// fencing, takeover), plan-moves.ts (plan and state moves) and step-run.ts (one step's attempts).
// Marks this module family for the web bundle check (a side effect a bundler keeps).
import "./worker-sentinel";
import { HeldLease } from "./held-lease";
import { planOptionsOf, stepsOfPlan } from "./item-records";
import { claimItem, LeaseLostError, releaseItem } from "./lease";
import { finishPlan, giveUp, loadItem, startNextPlan, switchToCancel } from "./plan-moves";
import { isRunnablePlan, stepsOf, type PlannedStep } from "./plans";
import type { RunnerDeps } from "./runner-deps";
import { runStep } from "./step-run";
import { terminalStates } from "./transitions";

export type { RunnerDeps } from "./runner-deps";

/** Works on the item if no other worker holds it. Returns when the item waits, is finished, or was lost. */
export async function runItem(deps: RunnerDeps, itemId: string): Promise<void> {
  const lease = await claimItem(deps.db, itemId, deps.owner, deps.settings.leaseMs);
  if (!lease) return;
  const held = new HeldLease(deps.db, lease);
  try {
    await drive(deps, held);
  } catch (err) {
    if (!(err instanceof LeaseLostError)) {
      // Not a step's failure (those are handled per step): an engine fault. Park the item for an operator
      // rather than let the sweep restart it in a tight loop.
      await giveUp(held, err).catch(() => {});
      throw err;
    }
    console.warn(`[engine] ${err.message}; stopping work on it`);
  } finally {
    held.stop();
    await releaseItem(deps.db, lease).catch(() => {});
  }
}

/** The loop: re-reads the item each turn and does the one thing its state and plan call for next. */
async function drive(deps: RunnerDeps, held: HeldLease): Promise<void> {
  await held.fenceHypervisorAccess();
  for (;;) {
    const item = await loadItem(deps.db, held.lease.itemId);
    if (terminalStates.includes(item.state) || item.state === "needs_attention") return;
    await held.announceTakeover(item);

    if (!isRunnablePlan(item.activePlan)) {
      if (!(await startNextPlan(held, item))) return;
      continue;
    }
    const plan = item.activePlan;
    if (item.cancelRequested && plan === "phase1") {
      await switchToCancel(held, item);
      continue;
    }
    const steps = await deps.db.transaction((tx) => stepsOfPlan(tx, item.id, plan));
    const planned = stepsOf(plan, planOptionsOf(item, item.session));
    const next = steps.find((s) => s.state === "pending" || s.state === "running");
    if (!next) {
      await finishPlan(held, item, plan);
      continue;
    }
    const outcome = await runStep(deps, held, item, plan, next, planned[next.seq] as PlannedStep, steps);
    if (outcome === "stopped") return;
  }
}
