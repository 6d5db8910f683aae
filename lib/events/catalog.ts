// The event catalogue: every event the product writes, keyed by its type, with its exact payload and its default
// level. appendEvent takes only these, so a wrong payload is a type error where it is written; every reader (the
// stream, the JSON pages, the session page, the command line) narrows what it reads with narrowEvent, below, and
// then switches on the type instead of guessing at payload fields.
//
// Client-safe on purpose: React client components import it. It holds types and plain constants only; its
// imports are `import type`, erased at build time, so no database, Node or server code reaches the browser.
import type { eventLevels, itemStates } from "@/lib/db/schema";
import type { PlannedStep, RunnablePlan, StepKind, StepPhase } from "@/lib/engine/plans";
import type { SwitchMode } from "@/lib/engine/types";
import type { Region } from "@/lib/providers/types";

export type EventLevel = (typeof eventLevels)[number];
type ItemState = (typeof itemStates)[number];

// ── payload building blocks ──────────────────────────────────────────────────────────────────────
// Object type aliases rather than interfaces: aliases stay assignable to Record<string, unknown>, the type of the
// payload column they are written to.

/** What every step event carries: which step, and which worker ran it under which lease attempt. */
export type StepInfo = {
  stepId: string;
  kind: StepKind;
  title: string;
  phase: StepPhase;
  seq: number;
  worker: string;
  leaseAttempt: number;
};

/** What a step reports as its outcome, shown with it in the timeline; each kind of step says different things. */
export type StepDetail = Record<string, unknown>;

/** A long step's progress (transfers and verification), as the step reports it; the runner adds StepInfo. */
export type ProgressReport = {
  /** The disk being worked on now. */
  disk: string;
  bytesDone: number;
  bytesTotal: number;
  rateBytesPerSec: number;
  etaSeconds: number | null;
  /** Transfers only: what differed and what was sent so far, and each disk's share. */
  bytesChanged?: number;
  bytesSent?: number;
  disks?: Record<string, { done: number; total: number }>;
};

/** Verification's verdict on one disk (also the step's checkpoint, so a retry re-syncs just the mismatches). */
export type VerificationVerdict = { ok: boolean; digest: string; mismatches: Region[] };

type StepFailure = { attempt: number; error: string; permanent: boolean };

// ── the catalogue ────────────────────────────────────────────────────────────────────────────────

/** One entry: its default level at run time; its payload exists as a type only. */
interface Spec<P> {
  readonly level: EventLevel;
  readonly payload?: P;
}
/** An event a step writes through StepRun.note: the step gives the body, the runner adds its StepInfo. */
interface NoteSpec<B> extends Spec<StepInfo & B> {
  readonly note: true;
  readonly body?: B;
}

const event = <P>(level: EventLevel = "info"): Spec<P> => ({ level });
const stepEvent = <P>(level: EventLevel = "info"): Spec<StepInfo & P> => ({ level });
const stepNote = <B>(level: EventLevel = "info"): NoteSpec<B> => ({ level, note: true });

export const eventCatalog = {
  // The session and its items (start-session, item-records).
  /** A fabricated session in the API tests records only `by`; a started one records all of it. */
  "session.created": event<{
    by: string;
    items: number;
    switchMode: SwitchMode;
    runAt: string | null;
    timeZone: string | null;
  }>(),
  "preflight.warning": event<{ message: string }>("warning"),
  "item.state": event<{ from: ItemState; to: ItemState; why: string }>(),
  /** `from` is absent only when the session's previous state could not be read. */
  "session.state": event<{ from?: ItemState; to: ItemState }>(),

  // Operators' commands. Instants are ISO strings.
  "switch.requested": event<{ by: string; now: boolean }>(),
  "cancel.requested": event<{ by: string }>(),
  /** `plan` is the RunnablePlan started; the commands hand it on as a string. */
  "commit.requested": event<{ by: string; plan: RunnablePlan }>(),
  "undo.requested": event<{ by: string; plan: RunnablePlan }>(),
  "schedule.changed": event<{ by: string; from: string; to: string; timeZone: string }>(),
  "schedule.cancelled": event<{ by: string; runAt: string }>(),
  "schedule.started": event<{ runAt: string; timeZone: string; items: number }>(),

  // The runner: plans and their steps.
  "plan.cancel": event<{ message: string }>(),
  "step.started": stepEvent<{ attempt: number; resumed: boolean }>(),
  "step.progress": stepEvent<ProgressReport>(),
  /** Skipped by its plan (`why`), or by the step itself when it found nothing to do (its outcome). */
  "step.skipped": stepEvent<{ why: NonNullable<PlannedStep["skipWhen"]> } | { attempt: number; detail: StepDetail }>(),
  "step.done": stepEvent<{ attempt: number; detail: StepDetail }>(),
  "step.retrying": stepEvent<StepFailure>("warning"),
  "step.failed": stepEvent<StepFailure>("error"),

  // Notes written by the steps themselves.
  "replica.shutdown_timeout": stepNote<{ vm: string; timeoutMs: number }>("warning"),
  "quick_rollback.fallback": stepNote<{ reason: string; message: string }>("warning"),
  "phase2.full_compare": stepNote<{ disk: string; reason: string }>("warning"),
  "verification.resync": stepNote<{ disk: string; regions: number }>(),
  /** Level error when a disk differs. */
  "verification.result": stepNote<{ disks: Record<string, VerificationVerdict> }>(),

  // Workers: faults, leases, start-up reconciliation.
  "engine.error": event<{ error: string }>("error"),
  "worker.fenced": event<{ endedDiskAccess: number; previousOwner: string | null }>("warning"),
  "worker.takeover": event<{ from: string | null; to: string; attempt: number }>("warning"),
  /** Level warning when the provider reported problems. */
  reconcile: event<{ vm: string; actions: string[]; problems: string[] }>(),
};

type Catalog = typeof eventCatalog;

/** Every type the product writes. */
export type CatalogueType = keyof Catalog;
export type EventPayload<T extends CatalogueType> = Exclude<Catalog[T]["payload"], undefined>;

/** The types a step may write through StepRun.note, and the body it gives for each. */
export type StepNoteType = { [K in CatalogueType]: Catalog[K] extends NoteSpec<unknown> ? K : never }[CatalogueType];
export type StepNoteBody<T extends StepNoteType> = Exclude<Catalog[T]["body"], undefined>;

/**
 * Test-only: tests (lib/events, lib/api) write `test.*` events to exercise rows, NOTIFY and the stream without
 * faking a product event. The product never writes one; they read as level info with a free-form payload.
 */
export const testEventPrefix = "test.";
export type TestEventType = `${typeof testEventPrefix}${string}`;
export type TestEvent = { type: TestEventType; payload: Record<string, unknown> };

export type EventType = CatalogueType | TestEventType;

/** The discriminated union of every event: switch on `type`, and `payload` is that event's exact payload. */
export type FailbackEvent = { [K in CatalogueType]: { type: K; payload: EventPayload<K> } }[CatalogueType] | TestEvent;

/** The catalogue's types, for a reader that filters by type (the event query). */
export const catalogueTypes = Object.keys(eventCatalog) as CatalogueType[];

export function isEventType(type: string): type is EventType {
  // hasOwn, not `in`: "constructor" and the like are not event types.
  return Object.hasOwn(eventCatalog, type) || type.startsWith(testEventPrefix);
}

export function defaultLevelOf(type: EventType): EventLevel {
  return Object.hasOwn(eventCatalog, type) ? eventCatalog[type as CatalogueType].level : "info";
}

/**
 * The one place where something read (a row, a stream message, a JSON page) becomes a typed event: the same object,
 * typed as the union, or null when its type is not in the catalogue or its payload is not an object. The payload's
 * fields are not checked one by one: every event was written through appendEvent, whose argument the catalogue types.
 */
export function narrowEvent<T extends { type: string; payload: unknown }>(
  raw: T,
): (Omit<T, "type" | "payload"> & FailbackEvent) | null {
  const { type, payload } = raw;
  if (!isEventType(type) || typeof payload !== "object" || payload === null || Array.isArray(payload)) return null;
  return raw as unknown as Omit<T, "type" | "payload"> & FailbackEvent;
}
