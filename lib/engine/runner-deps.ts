// What the runner and each step's run are given by the worker that runs them: the database, the settings, the
// worker's name in leases, and the crash tests' hooks.
import type { Db } from "@/lib/db/client";
import type { RunnablePlan, StepKind } from "./plans";
import type { EngineSettings } from "./settings";

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
