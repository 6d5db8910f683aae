// What the session page knows from the event stream: the latest progress of each VM's long step, the
// throughput over time, verification verdicts and the event log. One pure fold, used by the server (over every
// stored event, for the first render) and by the browser (for each event as it arrives), so both agree.

export interface LiveEvent {
  id: number;
  itemId: string | null;
  type: string;
  level: "info" | "warning" | "error";
  payload: Record<string, unknown>;
  /** ISO instant. */
  createdAt: string;
}

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
  log: LiveEvent[];
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

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === "string" ? v : null);

function diskMap(value: unknown): Record<string, { done: number; total: number }> {
  if (!value || typeof value !== "object") return {};
  const out: Record<string, { done: number; total: number }> = {};
  for (const [label, d] of Object.entries(value as Record<string, unknown>)) {
    const done = num((d as { done?: unknown })?.done);
    const total = num((d as { total?: unknown })?.total);
    if (done !== null && total !== null) out[label] = { done, total };
  }
  return out;
}

function verdicts(value: unknown): Record<string, DiskVerdict> {
  if (!value || typeof value !== "object") return {};
  const out: Record<string, DiskVerdict> = {};
  for (const [label, v] of Object.entries(value as Record<string, unknown>)) {
    const verdict = (v ?? {}) as Record<string, unknown>;
    const regions = Array.isArray(verdict.mismatches) ? (verdict.mismatches as Record<string, unknown>[]) : [];
    const first = regions[0];
    const offset = num(first?.offset);
    const length = num(first?.length);
    out[label] = {
      ok: verdict.ok === true,
      digest: str(verdict.digest),
      mismatchedRegions: regions.length,
      firstMismatch: offset !== null && length !== null ? { offset, length } : null,
    };
  }
  return out;
}

const stepStatusAfter: Record<string, StepProgress["status"]> = {
  "step.started": "running",
  "step.retrying": "retrying",
  "step.done": "done",
  "step.skipped": "done",
  "step.failed": "failed",
};

/** An event older than the newest one seen: kept in the log (in order) if it is new to it, nothing else. */
function applyLateEvent(state: LiveState, event: LiveEvent): LiveState {
  const oldestKept = state.log[0]?.id ?? 0;
  if (event.id < oldestKept || state.log.some((e) => e.id === event.id)) return state;
  const log = [...state.log, event].sort((a, b) => a.id - b.id);
  return { ...state, log };
}

export function applyEvent(state: LiveState, event: LiveEvent): LiveState {
  // Replays overlap on reconnect (the server's first render and the stream's replay): each id counts once. An
  // id below the newest seen can still be new (a transaction that committed late); it only joins the log.
  if (event.id <= state.lastEventId) return applyLateEvent(state, event);
  const next: LiveState = { ...state, lastEventId: event.id };
  const log = [...state.log, event];
  const overflow = Math.max(0, log.length - LOG_LIMIT);
  next.log = overflow ? log.slice(overflow) : log;
  next.logDropped = state.logDropped + overflow;

  const itemId = event.itemId;
  const p = event.payload;
  if (event.type === "step.progress" && itemId) {
    const bytesTotal = num(p.bytesTotal) ?? 0;
    const rate = num(p.rateBytesPerSec) ?? 0;
    const before = state.progress[itemId];
    const stepId = str(p.stepId) ?? "";
    const disks = diskMap(p.disks);
    next.progress = {
      ...state.progress,
      [itemId]: {
        itemId,
        stepId,
        title: str(p.title) ?? "Working",
        disk: str(p.disk),
        bytesDone: num(p.bytesDone) ?? 0,
        bytesTotal,
        bytesChanged: num(p.bytesChanged),
        bytesSent: num(p.bytesSent),
        rateBytesPerSec: rate,
        etaSeconds: num(p.etaSeconds),
        // Verification names only the current disk: keep the per-disk picture of the same step.
        disks: Object.keys(disks).length ? disks : before?.stepId === stepId ? before.disks : {},
        at: event.createdAt,
        status: "running",
      },
    };
    const rates = [...state.rates, { itemId, stepId, at: Date.parse(event.createdAt), rate }];
    next.rates = rates.length > RATE_LIMIT ? rates.slice(rates.length - RATE_LIMIT) : rates;
  } else if (itemId && stepStatusAfter[event.type]) {
    const before = state.progress[itemId];
    if (before && before.stepId === str(p.stepId)) {
      next.progress = {
        ...state.progress,
        [itemId]: { ...before, status: stepStatusAfter[event.type] as StepProgress["status"] },
      };
    }
  } else if (event.type === "verification.result" && itemId) {
    next.verification = { ...state.verification, [itemId]: { at: event.createdAt, disks: verdicts(p.disks) } };
  }
  return next;
}

export function foldEvents(events: LiveEvent[], start: LiveState = emptyLiveState): LiveState {
  return events.reduce(applyEvent, start);
}

/** Parses one SSE data line as the route writes it; null for anything else. */
export function parseStreamEvent(data: string): LiveEvent | null {
  try {
    const raw = JSON.parse(data) as Record<string, unknown>;
    const id = num(raw.id);
    const type = str(raw.type);
    if (id === null || !type) return null;
    const level = raw.level === "warning" || raw.level === "error" ? raw.level : "info";
    return {
      id,
      itemId: str(raw.itemId),
      type,
      level,
      payload: raw.payload && typeof raw.payload === "object" ? (raw.payload as Record<string, unknown>) : {},
      createdAt: str(raw.createdAt) ?? new Date().toISOString(),
    };
  } catch {
    return null;
  }
}
