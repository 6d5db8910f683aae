// What a step implementation is given and returns. Steps are idempotent ensures: a step re-run after a crash
// (before or after its side effect, before its database commit) finds its own work and does nothing twice.
import type { Db, Tx } from "@/lib/db/client";
import type { EventLevel, ProgressReport, StepDetail, StepNoteBody, StepNoteType } from "@/lib/events/catalog";
import type { ItemContext } from "../context";
import type { PlannedStep, StepKind } from "../plans";
import type { EngineSettings } from "../settings";

export type Checkpoint = Record<string, unknown>;

export interface StepRun {
  ctx: ItemContext;
  planned: PlannedStep;
  /** This step's checkpoint from an earlier, interrupted attempt (null the first time). */
  checkpoint: Checkpoint | null;
  /** 1 for the first attempt of this run of the step. */
  attempt: number;
  settings: EngineSettings;
  /** For reading the inventory (a step's own writes go through `inTx`, fenced by the lease). */
  db: Db;
  /** Aborted when the lease is lost or a cancel was asked for: stop at the next safe point. */
  signal: AbortSignal;
  /** Persists this step's checkpoint (fenced: refused once the lease is lost). */
  saveCheckpoint(checkpoint: Checkpoint): Promise<void>;
  /** A progress event; the runner writes at most about one a second. */
  progress(report: ProgressReport): void;
  /** A warning or information event in the session log; the level defaults to the catalogue's for the type. */
  note<T extends StepNoteType>(type: T, body: StepNoteBody<T>, level?: EventLevel): Promise<void>;
  /** The checkpoint another step of the same plan left (calculate_difference hands its regions on). */
  checkpointOf(kind: StepKind): Checkpoint | null;
}

export interface StepOutcome {
  /** Shown with the step in the timeline. */
  detail?: StepDetail;
  /** Database changes that belong to the step, written in the transaction that marks it done. */
  inTx?: (tx: Tx) => Promise<void>;
  skipped?: boolean;
}

export type StepImpl = (run: StepRun) => Promise<StepOutcome>;

/** A failure that retrying cannot fix (a verification mismatch, a refused unsafe power-on): needs attention at once. */
export class PermanentStepError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PermanentStepError";
  }
}
