// The runner: works on one item while holding its lease, one step at a time, until the item has to wait (for
// an operator, a switch time) or is finished. Every write goes through fencedTx, so a worker that lost its
// lease changes nothing; every step is an idempotent ensure, so a run resumed after a crash repeats nothing.
import { eq } from "drizzle-orm";
import type { Db } from "@/lib/db/client";
import { failbackItems, failbackSessions, failbackSteps, type FailbackItem, type FailbackStep } from "@/lib/db/schema";
import { appendEvent } from "@/lib/events/events";
import { ProviderError } from "@/lib/providers/errors";
import { loadItemContext } from "./context";
import { ensurePlanSteps, moveItem, planOptionsOf, skipRemainingSteps, stepsOfPlan } from "./item-records";
import { claimItem, fencedTx, LeaseLostError, releaseItem, type Lease } from "./lease";
import { isRunnablePlan, stepsOf, type PlannedStep, type RunnablePlan, type StepKind } from "./plans";
import type { EngineSettings } from "./settings";
import { stepImpls } from "./steps";
import { PermanentStepError, type Checkpoint, type StepRun } from "./steps/step";
import { itemStateAfter, terminalStates, type EngineEvent } from "./transitions";

export interface RunnerDeps {
  db: Db;
  settings: EngineSettings;
  /** This worker's name in leases (host:pid:random). */
  owner: string;
  /** Test hook: called after a step's side effect and before its database commit (crash tests kill here). */
  afterEffect?: (step: StepKind, plan: RunnablePlan) => void;
  /** Test hook: awaited before a step's side effect (tests hold a step here to act "during" it). */
  beforeStep?: (step: StepKind, plan: RunnablePlan) => Promise<void>;
}

const finishEvent: Record<RunnablePlan, EngineEvent> = {
  phase1: "phase1_done",
  phase2: "switch_done",
  commit: "commit_done",
  undo_after_switch: "undo_done",
  undo_before_switch: "undo_done",
  cancel_phase1: "cancel_done",
};

class CancelRequested extends Error {}

/** Works on the item if no other worker holds it. Returns when the item waits, is finished, or was lost. */
export async function runItem(deps: RunnerDeps, itemId: string): Promise<void> {
  const lease = await claimItem(deps.db, itemId, deps.owner, deps.settings.leaseMs);
  if (!lease) return;
  const run = new ItemRun(deps, lease);
  try {
    await run.drive();
  } catch (err) {
    if (!(err instanceof LeaseLostError)) {
      // Not a step's failure (those are handled per step): an engine fault. Park the item for an operator
      // rather than let the sweep restart it in a tight loop.
      await run.giveUp(err).catch(() => {});
      throw err;
    }
    console.warn(`[engine] ${err.message}; stopping work on it`);
  } finally {
    run.stopHeartbeat();
    await releaseItem(deps.db, lease).catch(() => {});
  }
}

class ItemRun {
  private readonly heartbeat: NodeJS.Timeout;
  private abort = new AbortController();
  private lost = false;
  private cancelAsked = false;

  constructor(
    private readonly deps: RunnerDeps,
    private readonly lease: Lease,
  ) {
    this.heartbeat = setInterval(() => void this.beat(), Math.max(200, Math.floor(deps.settings.leaseMs / 3)));
  }

  stopHeartbeat(): void {
    clearInterval(this.heartbeat);
  }

  /** Renews the lease and looks for a cancel request; aborts the running step when either says stop. */
  private async beat(): Promise<void> {
    try {
      const item = await fencedTx(this.deps.db, this.lease, async (tx) => {
        const [row] = await tx
          .select({ cancel: failbackItems.cancelRequested, plan: failbackItems.activePlan })
          .from(failbackItems)
          .where(eq(failbackItems.id, this.lease.itemId));
        return row;
      });
      if (item?.cancel && item.plan === "phase1" && !this.cancelAsked) {
        this.cancelAsked = true;
        this.abort.abort(new CancelRequested("cancel requested"));
      }
    } catch (err) {
      if (err instanceof LeaseLostError) {
        this.lost = true;
        this.abort.abort(err);
      }
      // A database hiccup: the next beat tries again; the lease outlasts a few missed beats.
    }
  }

  private tx<T>(work: Parameters<typeof fencedTx<T>>[2]): Promise<T> {
    if (this.lost) return Promise.reject(new LeaseLostError(this.lease));
    return fencedTx(this.deps.db, this.lease, work);
  }

  private async loadItem(): Promise<FailbackItem & { session: typeof failbackSessions.$inferSelect }> {
    const [row] = await this.deps.db
      .select({ item: failbackItems, session: failbackSessions })
      .from(failbackItems)
      .innerJoin(failbackSessions, eq(failbackSessions.id, failbackItems.sessionId))
      .where(eq(failbackItems.id, this.lease.itemId));
    if (!row) throw new Error(`item ${this.lease.itemId} vanished`);
    return { ...row.item, session: row.session };
  }

  async drive(): Promise<void> {
    await this.fenceHypervisorAccess();
    for (;;) {
      const item = await this.loadItem();
      if (terminalStates.includes(item.state) || item.state === "needs_attention") return;
      if (this.lease.takenOverFrom && !this.announcedTakeover) await this.announceTakeover(item);

      if (!isRunnablePlan(item.activePlan)) {
        const next = this.nextPlan(item);
        if (!next) return;
        await this.tx(async (tx) => {
          const started =
            next === "phase1"
              ? itemStateAfter(item.state, "phase1_started")
              : next === "phase2"
                ? itemStateAfter(item.state, "switch_started")
                : item.state;
          if (!(await moveItem(tx, item, started, { activePlan: next }, `${next} started`))) return;
          await ensurePlanSteps(tx, item, next, planOptionsOf(item, item.session));
        });
        continue;
      }
      const plan = item.activePlan;
      if (item.cancelRequested && plan === "phase1") {
        await this.switchToCancel(item);
        continue;
      }
      const steps = await this.deps.db.transaction((tx) => stepsOfPlan(tx, item.id, plan));
      const planned = stepsOf(plan, planOptionsOf(item, item.session));
      const next = steps.find((s) => s.state === "pending" || s.state === "running");
      if (!next) {
        await this.finishPlan(item, plan);
        continue;
      }
      const outcome = await this.runStep(item, plan, next, planned[next.seq] as PlannedStep, steps);
      if (outcome === "stopped") return;
    }
  }

  private announcedTakeover = false;

  async giveUp(err: unknown): Promise<void> {
    const message = `internal error: ${err instanceof Error ? err.message : String(err)}`;
    await this.tx(async (tx) => {
      const [item] = await tx.select().from(failbackItems).where(eq(failbackItems.id, this.lease.itemId));
      if (!item) return;
      await appendEvent(tx, {
        sessionId: item.sessionId,
        itemId: item.id,
        type: "engine.error",
        level: "error",
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

  /**
   * Whatever disk access an earlier owner left open (it crashed, or stalled past its lease and may wake up)
   * is ended before this owner touches the disks: its late writes then have nowhere to go.
   */
  private async fenceHypervisorAccess(): Promise<void> {
    // An item whose VMs cannot be loaded fails its next step with the reason; nothing to fence here.
    const ctx = await loadItemContext(this.deps.db, this.lease.itemId, this.deps.settings.guestCacheDir).catch(
      () => null,
    );
    if (!ctx) return;
    let ended = 0;
    for (const vm of [ctx.replicaVm, ctx.target]) {
      if (vm) ended += (await vm.provider.releaseDiskAccess?.(vm.ext)) ?? 0;
    }
    if (ended > 0) {
      await this.tx((tx) =>
        appendEvent(tx, {
          sessionId: ctx.session.id,
          itemId: ctx.item.id,
          type: "worker.fenced",
          level: "warning",
          payload: { endedDiskAccess: ended, previousOwner: this.lease.takenOverFrom },
        }),
      );
    }
  }

  private async announceTakeover(item: FailbackItem): Promise<void> {
    this.announcedTakeover = true;
    await this.tx((tx) =>
      appendEvent(tx, {
        sessionId: item.sessionId,
        itemId: item.id,
        type: "worker.takeover",
        level: "warning",
        payload: { from: this.lease.takenOverFrom, to: this.lease.owner, attempt: this.lease.attempt },
      }),
    );
  }

  private nextPlan(item: FailbackItem & { session: { switchMode: string } }): RunnablePlan | null {
    if (item.state === "pending") return "phase1";
    if (item.state === "ready_to_switch" && (item.switchRequested || item.session.switchMode === "auto"))
      return "phase2";
    return null;
  }

  private async switchToCancel(item: FailbackItem): Promise<void> {
    await this.tx(async (tx) => {
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

  private async finishPlan(item: FailbackItem, plan: RunnablePlan): Promise<void> {
    if (plan === "phase1" && item.cancelRequested) return this.switchToCancel(item);
    const to = itemStateAfter(item.state, finishEvent[plan]);
    await this.tx(async (tx) => {
      await moveItem(tx, item, to, { activePlan: null, resumeState: null, attentionReason: null }, `${plan} done`);
    });
  }

  private async runStep(
    item: FailbackItem,
    plan: RunnablePlan,
    row: FailbackStep,
    planned: PlannedStep,
    all: FailbackStep[],
  ): Promise<"done" | "stopped"> {
    const { settings } = this.deps;
    const base = { sessionId: item.sessionId, itemId: item.id };
    const stepInfo = {
      stepId: row.id,
      kind: planned.kind,
      title: planned.title,
      phase: row.phase,
      seq: row.seq,
      worker: this.lease.owner,
      leaseAttempt: this.lease.attempt,
    };

    if (planned.skipWhen) {
      await this.tx(async (tx) => {
        await tx
          .update(failbackSteps)
          .set({ state: "skipped", finishedAt: new Date() })
          .where(eq(failbackSteps.id, row.id));
        await appendEvent(tx, { ...base, type: "step.skipped", payload: { ...stepInfo, why: planned.skipWhen } });
      });
      return "done";
    }

    let checkpoint = row.checkpoint ?? null;
    for (let attempt = row.attempts + 1; ; attempt++) {
      await this.tx(async (tx) => {
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

      const progress = new ProgressWriter((payload) =>
        this.tx((tx) => appendEvent(tx, { ...base, type: "step.progress", payload: { ...stepInfo, ...payload } })),
      );
      const stepRunWith = (ctx: Awaited<ReturnType<typeof loadItemContext>>): StepRun => ({
        ctx,
        planned,
        checkpoint,
        attempt,
        settings,
        signal: this.abort.signal,
        saveCheckpoint: async (cp: Checkpoint) => {
          checkpoint = cp;
          await this.tx((tx) => tx.update(failbackSteps).set({ checkpoint: cp }).where(eq(failbackSteps.id, row.id)));
        },
        progress: (payload) => progress.offer(payload),
        note: async (type, payload, level = "info") => {
          await this.tx((tx) => appendEvent(tx, { ...base, type, level, payload: { ...stepInfo, ...payload } }));
        },
        checkpointOf: (kind) => (all.find((s) => s.name === kind)?.checkpoint as Checkpoint | null) ?? null,
      });

      try {
        await this.deps.beforeStep?.(planned.kind, plan);
        // A worker that stalled (stopped, swapped out) since the step was marked running must not cause the
        // side effect if its lease went meanwhile: check it once more right before.
        await this.tx(async () => {});
        const ctx = await loadItemContext(this.deps.db, item.id, settings.guestCacheDir).catch((err: unknown) => {
          // The inventory no longer describes the item's VMs (removed or broken): retrying cannot help.
          throw new PermanentStepError(
            `the item's VMs cannot be loaded: ${err instanceof Error ? err.message : String(err)}`,
          );
        });
        const outcome = await stepImpls[planned.kind](stepRunWith(ctx));
        await progress.flush();
        this.deps.afterEffect?.(planned.kind, plan);
        await this.tx(async (tx) => {
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
        if (this.lost || err instanceof LeaseLostError) throw new LeaseLostError(this.lease);
        if (this.abort.signal.aborted && this.abort.signal.reason instanceof CancelRequested) {
          this.abort = new AbortController();
          await this.switchToCancel(await this.loadItem());
          return "done";
        }
        const message = err instanceof Error ? err.message : String(err);
        const permanent = isPermanent(err);
        const givingUp = permanent || attempt >= settings.stepAttempts;
        await this.tx(async (tx) => {
          await tx
            .update(failbackSteps)
            .set({ lastError: message, ...(givingUp ? { state: "failed" as const, finishedAt: new Date() } : {}) })
            .where(eq(failbackSteps.id, row.id));
          await appendEvent(tx, {
            ...base,
            type: givingUp ? "step.failed" : "step.retrying",
            level: givingUp ? "error" : "warning",
            payload: { ...stepInfo, attempt, error: message, permanent },
          });
          if (givingUp) {
            const current = (
              await tx.select().from(failbackItems).where(eq(failbackItems.id, item.id))
            )[0] as FailbackItem;
            await moveItem(
              tx,
              current,
              itemStateAfter(current.state, "step_gave_up"),
              { resumeState: current.state, attentionReason: `${planned.title}: ${message}` },
              "step gave up",
            );
          }
        });
        if (givingUp) return "stopped";
        await sleep(settings.retryDelayMs * 2 ** (attempt - 1), this.abort.signal);
      }
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

/** At most one progress event a second (the latest wins), written in order, never after the step ended. */
class ProgressWriter {
  private latest: Record<string, unknown> | null = null;
  private lastWrite = 0;
  private writing: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly write: (payload: Record<string, unknown>) => Promise<unknown>) {}

  offer(payload: Record<string, unknown>): void {
    if (this.stopped) return;
    this.latest = payload;
    const wait = 1000 - (Date.now() - this.lastWrite);
    if (wait <= 0) this.push();
    else
      this.timer ??= setTimeout(() => {
        this.timer = null;
        this.push();
      }, wait);
  }

  private push(): void {
    const payload = this.latest;
    if (!payload || this.stopped) return;
    this.latest = null;
    this.lastWrite = Date.now();
    this.writing = this.writing.then(() => this.write(payload)).catch(() => {});
  }

  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.push();
    this.stopped = true;
    await this.writing;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
