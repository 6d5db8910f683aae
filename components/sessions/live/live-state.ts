// What the session page knows from the event stream: the latest progress of each VM's long step, the
// throughput over time, verification verdicts and the event log. One pure fold, used by the server (over every
// stored event, for the first render) and by the browser (for each event as it arrives), so both agree.
// Event types and payloads are the catalogue's (lib/events/catalog.ts): nothing here guesses at their shape.
import { narrowEvent, type EventLevel, type FailbackEvent, type VerificationVerdict } from "@/lib/events/catalog";

/** The envelope every event of the live view has around its catalogued type and payload. */
interface LiveEnvelope {
  id: number;
  itemId: string | null;
  level: EventLevel;
  /** ISO instant. */
  createdAt: string;
}

/** An event as the live view is handed it (a stored row mapped by the page): foldEvents narrows it on entry. */
export interface LiveEvent extends LiveEnvelope {
  type: string;
  payload: unknown;
}

/** An event narrowed by the catalogue: switch on `type` and its payload is typed. */
export type TypedLiveEvent = LiveEnvelope & FailbackEvent;

export interface StepProgress {
  itemId: string;
  stepId: string;
  title: string;
  /** The disk being worked on now. */
  disk: string | null;
  bytesDone: number;
  bytesTotal: number;
  bytesChanged: number | null;
  bytesSent: number | null;
  rateBytesPerSec: number;
  etaSeconds: number | null;
  /** Per disk, when the step reports it (transfers do; verification reports the current disk only). */
  disks: Record<string, { done: number; total: number }>;
  at: string;
  /** What the step did after this report, from its own events. */
  status: "running" | "retrying" | "done" | "failed";
}

export interface RateSample {
  itemId: string;
  /** Samples of one step draw one line; a new step starts a new line. */
  stepId: string;
  /** Milliseconds since the epoch. */
  at: number;
  rate: number;
}

export interface DiskVerdict {
  ok: boolean;
  digest: string | null;
  /** How many differing regions, and the first of them (the operator is told where). */
  mismatchedRegions: number;
  firstMismatch: { offset: number; length: number } | null;
}

export interface LiveState {
  lastEventId: number;
  progress: Record<string, StepProgress>;
  rates: RateSample[];
  verification: Record<string, { at: string; disks: Record<string, DiskVerdict> }>;
  /** Chronological; the oldest are dropped beyond LOG_LIMIT (and counted). */
  log: TypedLiveEvent[];
  logDropped: number;
}

export const LOG_LIMIT = 1000;
const RATE_LIMIT = 600;

export const emptyLiveState: LiveState = {
  lastEventId: 0,
  progress: {},
  rates: [],
  verification: {},
  log: [],
  logDropped: 0,
};

function verdicts(disks: Record<string, VerificationVerdict>): Record<string, DiskVerdict> {
  const out: Record<string, DiskVerdict> = {};
  for (const [label, verdict] of Object.entries(disks)) {
    const first = verdict.mismatches[0];
    out[label] = {
      ok: verdict.ok,
      digest: verdict.digest,
      mismatchedRegions: verdict.mismatches.length,
      firstMismatch: first ? { offset: first.offset, length: first.length } : null,
    };
  }
  return out;
}

/** What a step's own events say about the progress shown for it. */
const stepStatusAfter = {
  "step.started": "running",
  "step.retrying": "retrying",
  "step.done": "done",
  "step.skipped": "done",
  "step.failed": "failed",
} as const satisfies Partial<Record<FailbackEvent["type"], StepProgress["status"]>>;

/** An event older than the newest one seen: kept in the log (in order) if it is new to it, nothing else. */
function applyLateEvent(state: LiveState, event: TypedLiveEvent): LiveState {
  const oldestKept = state.log[0]?.id ?? 0;
  if (event.id < oldestKept || state.log.some((e) => e.id === event.id)) return state;
  const log = [...state.log, event].sort((a, b) => a.id - b.id);
  return { ...state, log };
}

export function applyEvent(state: LiveState, event: TypedLiveEvent): LiveState {
  // Replays overlap on reconnect (the server's first render and the stream's replay): each id counts once. An
  // id below the newest seen can still be new (a transaction that committed late); it only joins the log.
  if (event.id <= state.lastEventId) return applyLateEvent(state, event);
  const next: LiveState = { ...state, lastEventId: event.id };
  const log = [...state.log, event];
  const overflow = Math.max(0, log.length - LOG_LIMIT);
  next.log = overflow ? log.slice(overflow) : log;
  next.logDropped = state.logDropped + overflow;

  const itemId = event.itemId;
  if (!itemId) return next;
  switch (event.type) {
    case "step.progress": {
      const p = event.payload;
      const before = state.progress[itemId];
      const disks = p.disks ?? {};
      next.progress = {
        ...state.progress,
        [itemId]: {
          itemId,
          stepId: p.stepId,
          title: p.title,
          disk: p.disk,
          bytesDone: p.bytesDone,
          bytesTotal: p.bytesTotal,
          bytesChanged: p.bytesChanged ?? null,
          bytesSent: p.bytesSent ?? null,
          rateBytesPerSec: p.rateBytesPerSec,
          etaSeconds: p.etaSeconds,
          // Verification names only the current disk: keep the per-disk picture of the same step.
          disks: Object.keys(disks).length ? disks : before?.stepId === p.stepId ? before.disks : {},
          at: event.createdAt,
          status: "running",
        },
      };
      const rates = [
        ...state.rates,
        { itemId, stepId: p.stepId, at: Date.parse(event.createdAt), rate: p.rateBytesPerSec },
      ];
      next.rates = rates.length > RATE_LIMIT ? rates.slice(rates.length - RATE_LIMIT) : rates;
      break;
    }
    case "step.started":
    case "step.retrying":
    case "step.done":
    case "step.skipped":
    case "step.failed": {
      const before = state.progress[itemId];
      if (before && before.stepId === event.payload.stepId) {
        next.progress = { ...state.progress, [itemId]: { ...before, status: stepStatusAfter[event.type] } };
      }
      break;
    }
    case "verification.result":
      next.verification = {
        ...state.verification,
        [itemId]: { at: event.createdAt, disks: verdicts(event.payload.disks) },
      };
      break;
  }
  return next;
}

/** Folds events as the page hands them over; each is narrowed by the catalogue first (unknown types are left out). */
export function foldEvents(events: LiveEvent[], start: LiveState = emptyLiveState): LiveState {
  let state = start;
  for (const raw of events) {
    const event = narrowEvent(raw);
    if (event) state = applyEvent(state, event);
  }
  return state;
}

/** Parses one SSE data line as the route writes it; null for anything else, or an event the catalogue lacks. */
export function parseStreamEvent(data: string): TypedLiveEvent | null {
  try {
    const raw = JSON.parse(data) as Record<string, unknown>;
    const { id, type } = raw;
    if (typeof id !== "number" || !Number.isFinite(id) || typeof type !== "string" || !type) return null;
    const level: EventLevel = raw.level === "warning" || raw.level === "error" ? raw.level : "info";
    return narrowEvent({
      id,
      itemId: typeof raw.itemId === "string" ? raw.itemId : null,
      level,
      createdAt: typeof raw.createdAt === "string" ? raw.createdAt : new Date().toISOString(),
      type,
      payload: raw.payload,
    });
  } catch {
    return null;
  }
}
