// The API's answers as the command line reads them (JSON: instants are ISO strings).
export interface Me {
  userId: string;
  email: string;
  role: string;
  via: string;
  token: string | null;
  permissions: string[];
}

export interface Replica {
  id: string;
  state: string;
  replicationOnHold: boolean;
  lastReplicatedAt: string | null;
  sourceVmName: string;
  sourceSiteName: string;
  replicaVmName: string;
  replicaSiteName: string;
  restorePoints: number;
}

export interface SessionSummary {
  id: string;
  state: string;
  switchMode: string;
  createdAt: string;
  finishedAt: string | null;
  createdByEmail: string | null;
  items: number;
  vmNames: string[];
  nextSwitchAt: string | null;
}

export interface SessionStep {
  phase: string;
  seq: number;
  name: string;
  state: string;
  attempts: number;
  lastError: string | null;
}

export interface SessionItem {
  id: string;
  replicaId: string;
  state: string;
  activePlan: string | null;
  attentionReason: string | null;
  targetKind: string;
  targetVmName: string | null;
  sourceVmName: string;
  replicaVmName: string;
  steps: SessionStep[];
}

export interface SessionDetail {
  session: {
    id: string;
    state: string;
    switchMode: string;
    quickRollback: boolean;
    reason: string;
    createdAt: string;
    finishedAt: string | null;
    createdByEmail: string | null;
  };
  items: SessionItem[];
  schedule: { id: string; runAt: string; timeZone: string; state: string } | null;
}

/**
 * An event as the API sends it. Its type and payload are the event catalogue's (lib/events/catalog.ts); kept
 * loose here because a newer server may send types this command line does not know: narrowEvent types the rest.
 */
export interface SessionEvent {
  id: number;
  sessionId: string;
  itemId: string | null;
  type: string;
  level: string;
  payload: Record<string, unknown>;
  createdAt: string;
}

export interface CommandResult {
  sessionId: string;
  itemIds: string[];
  message: string;
  schedule?: { id: string; runAt: string };
}

export interface StartedFailback {
  sessionId: string;
  itemIds: string[];
  scheduleId: string | null;
  runAt: string | null;
  preflight: { replicaName: string; warnings: string[] }[];
}

/** Item and session states after which nothing more happens. */
export const finalStates = ["committed", "undone", "cancelled"] as const;
export const sessionStates = [
  "pending",
  "phase1",
  "ready_to_switch",
  "switching",
  "switched",
  "committed",
  "undone",
  "cancelled",
  "needs_attention",
] as const;
