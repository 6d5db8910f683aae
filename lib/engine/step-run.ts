// One step of a plan, run to an end: skipped by its plan, or attempted until it succeeds, gives up (after the
// configured attempts, at once for a permanent failure) or is stopped by a cancel request. Between attempts it
// waits with exponential backoff. Every record it makes (step row, checkpoint, events) is a fenced write, and
// the lease is checked once more right before the side effect. The loop over a plan's steps is in runner.ts.
import { describeError } from "@/lib/errors";
import { eq } from "drizzle-orm";
import { failbackSteps, type FailbackItem, type FailbackStep } from "@/lib/db/schema";
import type { StepInfo } from "@/lib/events/catalog";
import { appendEvent, type NewEvent } from "@/lib/events/events";
import { ProviderError } from "@/lib/providers/errors";
import { loadItemContext, type ItemContext } from "./context";
import type { HeldLease } from "./held-lease";
import { LeaseLostError } from "./lease";
import { loadItem, parkAfterStepGaveUp, switchToCancel } from "./plan-moves";
import type { PlannedStep, RunnablePlan } from "./plans";
import { ProgressWriter } from "./progress-writer";
import type { RunnerDeps } from "./runner-deps";
import { stepImpls } from "./steps";
import { PermanentStepError, type Checkpoint, type StepRun } from "./steps/step";

/** "done": go on with the plan (the step finished, or a cancel took over); "stopped": the item waits now. */
export async function runStep(
  deps: RunnerDeps,
  held: HeldLease,
  item: FailbackItem,
  plan: RunnablePlan,
  row: FailbackStep,
  planned: PlannedStep,
  all: FailbackStep[],
): Promise<"done" | "stopped"> {
  const { settings } = deps;
  const base = { sessionId: item.sessionId, itemId: item.id };
  const stepInfo: StepInfo = {
    stepId: row.id,
    kind: planned.kind,
    title: planned.title,
    phase: row.phase,
    seq: row.seq,
    worker: held.lease.owner,
    leaseAttempt: held.lease.attempt,
  };

  const why = planned.skipWhen;
  if (why) {
    await held.tx(async (tx) => {
      await tx
        .update(failbackSteps)
        .set({ state: "skipped", finishedAt: new Date() })
        .where(eq(failbackSteps.id, row.id));
      await appendEvent(tx, { ...base, type: "step.skipped", payload: { ...stepInfo, why } });
    });
    return "done";
  }

  let checkpoint = row.checkpoint ?? null;
  for (let attempt = row.attempts + 1; ; attempt++) {
    await held.tx(async (tx) => {
      await tx
        .update(failbackSteps)
        .set({ state: "running", attempts: attempt, startedAt: row.startedAt ?? new Date() })
        .where(eq(failbackSteps.id, row.id));
      await appendEvent(tx, {
        ...base,
        type: "step.started",
        payload: { ...stepInfo, attempt, resumed: checkpoint !== null },
      });
    });

    const progress = new ProgressWriter((report) =>
      held.tx((tx) => appendEvent(tx, { ...base, type: "step.progress", payload: { ...stepInfo, ...report } })),
    );
    const stepRunWith = (ctx: ItemContext): StepRun => ({
      ctx,
      planned,
      checkpoint,
      attempt,
      settings,
      db: deps.db,
      signal: held.signal,
      saveCheckpoint: async (cp: Checkpoint) => {
        checkpoint = cp;
        await held.tx((tx) => tx.update(failbackSteps).set({ checkpoint: cp }).where(eq(failbackSteps.id, row.id)));
      },
      progress: (report) => progress.offer(report),
      note: async (type, body, level) => {
        // The catalogue pairs each note type with its body; TypeScript cannot follow that pairing through the
        // generic `type`, which StepRun.note's signature has already checked at the step's call.
        const event = { ...base, type, level, payload: { ...stepInfo, ...body } } as NewEvent;
        await held.tx((tx) => appendEvent(tx, event));
      },
      checkpointOf: (kind) => (all.find((s) => s.name === kind)?.checkpoint as Checkpoint | null) ?? null,
    });

    try {
      await deps.beforeStep?.(planned.kind, plan);
      // A worker that stalled (stopped, swapped out) since the step was marked running must not cause the
      // side effect if its lease went meanwhile: check it once more right before.
      await held.tx(async () => {});
      const ctx = await loadItemContext(deps.db, item.id).catch((err: unknown) => {
        // The inventory no longer describes the item's VMs (removed or broken): retrying cannot help.
        throw new PermanentStepError(`the item's VMs cannot be loaded: ${describeError(err)}`);
      });
      const outcome = await stepImpls[planned.kind](stepRunWith(ctx));
      await progress.flush();
      deps.afterEffect?.(planned.kind, plan);
      await held.tx(async (tx) => {
        if (outcome.inTx) await outcome.inTx(tx);
        await tx
          .update(failbackSteps)
          .set({ state: outcome.skipped ? "skipped" : "done", finishedAt: new Date(), lastError: null })
          .where(eq(failbackSteps.id, row.id));
        await appendEvent(tx, {
          ...base,
          type: outcome.skipped ? "step.skipped" : "step.done",
          payload: { ...stepInfo, attempt, detail: outcome.detail ?? {} },
        });
      });
      return "done";
    } catch (err) {
      progress.stop();
      if (held.isLost || err instanceof LeaseLostError) throw new LeaseLostError(held.lease);
      if (held.stoppedForCancel) {
        held.rearm();
        await switchToCancel(held, await loadItem(deps.db, item.id));
        return "done";
      }
      const message = describeError(err);
      const permanent = isPermanent(err);
      const givingUp = permanent || attempt >= settings.stepAttempts;
      await held.tx(async (tx) => {
        await tx
          .update(failbackSteps)
          .set({ lastError: message, ...(givingUp ? { state: "failed" as const, finishedAt: new Date() } : {}) })
          .where(eq(failbackSteps.id, row.id));
        await appendEvent(tx, {
          ...base,
          type: givingUp ? "step.failed" : "step.retrying",
          payload: { ...stepInfo, attempt, error: message, permanent },
        });
        if (givingUp) await parkAfterStepGaveUp(tx, item.id, `${planned.title}: ${message}`);
      });
      if (givingUp) return "stopped";
      await sleep(settings.retryDelayMs * 2 ** (attempt - 1), held.signal);
    }
  }
}

/** Retrying cannot fix these: a refused unsafe action, a verification mismatch, a provider's "invalid"/"unsupported"/"no space". */
function isPermanent(err: unknown): boolean {
  if (err instanceof PermanentStepError) return true;
  if (err instanceof ProviderError)
    return !err.transient && (err.kind === "invalid" || err.kind === "unsupported" || err.kind === "no_space");
  return false;
}

/** The backoff between attempts; cut short when the lease is lost or a cancel is asked for. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
