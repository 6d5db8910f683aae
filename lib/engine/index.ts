// The engine's public API: what server actions, route handlers, the worker and the command line use. Nothing
// outside lib/engine reaches into its other files. Commands record intent in the database (one transaction
// with the audit row) and then nudge the workers through the job queue; if the nudge is lost, the workers'
// sweep finds the work within a few seconds anyway.
import type { Db } from "@/lib/db/client";
import { JobQueue } from "@/lib/queue/queue";
import * as commands from "./commands";
import { checkFailback, startFailback, type StartedFailback } from "./start-session";
import type { EngineActor } from "./types";

export type {
  EngineActor,
  StartFailbackRequest,
  FailbackItemRequest,
  NewLocationOptions,
  SwitchMode,
  TargetKind,
} from "./types";
export { systemActor } from "./types";
export type { CommandResult } from "./commands";
export type { PreflightResult } from "./preflight";
export type { StartedFailback } from "./start-session";
export { startFailbackSchema } from "./start-session";
export { startWorker, type Worker, type WorkerOptions } from "./worker";
export { engineSettingsFromConfig, type EngineSettings } from "./settings";
export { snapshotNames } from "./names";
export {
  stepsOf,
  phaseOf,
  titleOfStep,
  type RunnablePlan,
  type PlannedStep,
  type StepKind,
  type PlanOptions,
} from "./plans";
export { resolveSwitchTime } from "./switch-time";
export { estimateReplica, refreshEstimates, type DataEstimate } from "./estimate";

export interface EngineOptions {
  db: Db;
  databaseUrl: string;
  guestCacheDir: string;
}

export class Engine {
  private readonly queue: JobQueue;

  constructor(private readonly options: EngineOptions) {
    this.queue = new JobQueue({ databaseUrl: options.databaseUrl, supervise: false });
  }

  /** Validates and pre-flights a request without starting anything (the wizard's review step). */
  async check(raw: unknown) {
    const { runAt, preflight, fields, code } = await checkFailback(this.options.db, raw, this.options.guestCacheDir);
    return { ok: code === null, code, fieldErrors: fields, runAt, preflight };
  }

  async start(actor: EngineActor, raw: unknown): Promise<StartedFailback> {
    const started = await startFailback(this.options.db, actor, raw, this.options.guestCacheDir);
    await this.nudge(started.itemIds);
    if (started.scheduleId && started.runAt)
      await this.queue.sendSchedule(started.scheduleId, started.runAt).catch(() => {});
    return started;
  }

  switchNow(actor: EngineActor, sessionId: string, itemId?: string) {
    return this.after(commands.switchNow(this.options.db, actor, sessionId, itemId));
  }

  changeSwitchTime(actor: EngineActor, sessionId: string, local: string, timeZone: string) {
    return this.after(commands.changeSwitchTime(this.options.db, actor, sessionId, local, timeZone));
  }

  cancelSchedule(actor: EngineActor, sessionId: string) {
    return this.after(commands.cancelSchedule(this.options.db, actor, sessionId));
  }

  commit(actor: EngineActor, sessionId: string, itemId?: string) {
    return this.after(commands.commit(this.options.db, actor, sessionId, itemId));
  }

  undo(actor: EngineActor, sessionId: string, itemId?: string) {
    return this.after(commands.undo(this.options.db, actor, sessionId, itemId));
  }

  cancel(actor: EngineActor, sessionId: string, itemId?: string) {
    return this.after(commands.cancel(this.options.db, actor, sessionId, itemId));
  }

  retry(actor: EngineActor, sessionId: string, itemId?: string) {
    return this.after(commands.retry(this.options.db, actor, sessionId, itemId));
  }

  async close(): Promise<void> {
    await this.queue.stop();
  }

  private async after(pending: Promise<commands.CommandResult>): Promise<commands.CommandResult> {
    const result = await pending;
    await this.nudge(result.itemIds);
    if (result.schedule) await this.queue.sendSchedule(result.schedule.id, result.schedule.runAt).catch(() => {});
    return result;
  }

  /** Best effort: the rows are already committed, and the workers' sweep picks up anything not nudged. */
  private async nudge(itemIds: string[]): Promise<void> {
    for (const id of itemIds) await this.queue.sendItem(id).catch(() => {});
  }
}
