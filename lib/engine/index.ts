// The engine's public face for everything that is not a worker: the command catalogue run in-process, the
// plans, schemas, legality rules and shared types. Nothing here reaches the runner, a provider or the data
// plane, so the web tier may import it; workers start from lib/engine/worker-main.ts instead.
import { commandOf, type CommandName } from "@/lib/commands/catalog";
import type { CommandActor, CommandServices } from "@/lib/commands/define";
import type { FailbackReview } from "@/lib/commands/failback-commands";
import { executeCommand } from "@/lib/commands/execute";
import type { Db } from "@/lib/db/client";
import { queueNudger } from "@/lib/queue/nudger";
import { JobQueue } from "@/lib/queue/queue";
import type { CommandResult } from "./commands/item-commands";
import type { StartedFailback } from "./start-session";

export type {
  EngineActor,
  StartFailbackRequest,
  FailbackItemRequest,
  NewLocationOptions,
  SwitchMode,
  TargetKind,
} from "./types";
export { systemActor } from "./types";
export type { CommandResult } from "./commands/item-commands";
export type { PreflightResult } from "./preflight/checks";
export type { HypervisorFacts, PreflightFactsSource } from "./preflight/facts";
export type { StartedFailback } from "./start-session";
export { startFailbackSchema } from "./start-session";
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

export interface EngineOptions {
  db: Db;
  databaseUrl: string;
  /** How this process learns hypervisor facts: the web tier asks a worker; tests collect them in-process. */
  services: CommandServices;
}

/**
 * Runs catalogue commands in this process on behalf of an actor (tests, the lab, the engine itself). The
 * dashboard and the API reach the same commands through their own wrappers, which check permissions first.
 */
export class Engine {
  private readonly queue: JobQueue;

  constructor(private readonly options: EngineOptions) {
    this.queue = new JobQueue({ databaseUrl: options.databaseUrl, supervise: false });
  }

  async run<R>(name: CommandName, actor: CommandActor, input: unknown): Promise<R> {
    const { db, services } = this.options;
    const { result } = await executeCommand<R>(commandOf(name), input, {
      db,
      actor,
      via: "engine",
      services,
      nudger: queueNudger(this.queue),
    });
    return result;
  }

  check(actor: CommandActor, request: unknown): Promise<FailbackReview> {
    return this.run("check", actor, request);
  }

  start(actor: CommandActor, request: unknown): Promise<StartedFailback> {
    return this.run("start", actor, request);
  }

  switchNow(actor: CommandActor, sessionId: string, itemId?: string): Promise<CommandResult> {
    return this.run("switch-now", actor, { sessionId, itemId });
  }

  changeSwitchTime(actor: CommandActor, sessionId: string, local: string, timeZone: string): Promise<CommandResult> {
    return this.run("reschedule", actor, { sessionId, local, timeZone });
  }

  cancelSchedule(actor: CommandActor, sessionId: string): Promise<CommandResult> {
    return this.run("cancel-schedule", actor, { sessionId });
  }

  commit(actor: CommandActor, sessionId: string, itemId?: string): Promise<CommandResult> {
    return this.run("commit", actor, { sessionId, itemId });
  }

  undo(actor: CommandActor, sessionId: string, itemId?: string): Promise<CommandResult> {
    return this.run("undo", actor, { sessionId, itemId });
  }

  cancel(actor: CommandActor, sessionId: string, itemId?: string): Promise<CommandResult> {
    return this.run("cancel", actor, { sessionId, itemId });
  }

  retry(actor: CommandActor, sessionId: string, itemId?: string): Promise<CommandResult> {
    return this.run("retry", actor, { sessionId, itemId });
  }

  async close(): Promise<void> {
    await this.queue.stop();
  }
}
