// The item state machine of failback-behaviour.md as a pure function: no I/O, so every legal and illegal move
// is tested directly. The runner persists each transition in the same transaction as the step that caused it.
import type { ItemState } from "@/lib/db/schema";
import { AppError } from "@/lib/errors";

/** What the runner reports when a plan finishes or fails. */
export type EngineEvent =
  | "phase1_started"
  | "phase1_done"
  | "switch_started"
  | "switch_done"
  | "commit_done"
  | "undo_done"
  | "cancel_done"
  | "step_gave_up";

export type PlanName =
  "phase1" | "phase2" | "commit" | "undo_after_switch" | "undo_before_switch" | "cancel_phase1" | "retry";

/**
 * A move the state machine does not allow: an operator command refused for the item's state, or an engine
 * event that does not fit it. One of the typed errors (INVALID_STATE), so every surface answers it the same way.
 */
export class InvalidTransitionError extends AppError {
  constructor(message: string) {
    super("INVALID_STATE", message);
    this.name = "InvalidTransitionError";
  }
}

export const terminalStates: readonly ItemState[] = ["committed", "undone", "cancelled"];

const eventTargets: Record<EngineEvent, Partial<Record<ItemState, ItemState>>> = {
  phase1_started: { pending: "phase1" },
  phase1_done: { phase1: "ready_to_switch" },
  switch_started: { ready_to_switch: "switching" },
  switch_done: { switching: "switched" },
  commit_done: { switched: "committed" },
  undo_done: { ready_to_switch: "undone", switching: "undone", switched: "undone", needs_attention: "undone" },
  cancel_done: { pending: "cancelled", phase1: "cancelled", needs_attention: "cancelled" },
  step_gave_up: {
    phase1: "needs_attention",
    switching: "needs_attention",
    switched: "needs_attention",
    ready_to_switch: "needs_attention",
  },
};

export function itemStateAfter(state: ItemState, event: EngineEvent): ItemState {
  const next = eventTargets[event][state];
  if (!next) {
    throw new InvalidTransitionError(
      `Not possible while the item is ${state.replace(/_/g, " ")}: ${event.replace(/_/g, " ")}.`,
    );
  }
  return next;
}

/** The session's state summarises its items: the least advanced live item leads; attention wins. */
export function sessionStateOf(items: readonly ItemState[]): ItemState {
  if (items.length === 0) return "pending";
  if (items.includes("needs_attention")) return "needs_attention";
  const order: ItemState[] = [
    "pending",
    "phase1",
    "ready_to_switch",
    "switching",
    "switched",
    "committed",
    "undone",
    "cancelled",
  ];
  const live = items.filter((s) => !terminalStates.includes(s));
  if (live.length) return live.reduce((a, b) => (order.indexOf(a) <= order.indexOf(b) ? a : b));
  if (items.every((s) => s === "committed")) return "committed";
  if (items.every((s) => s === "cancelled")) return "cancelled";
  return items.includes("undone") ? "undone" : "committed";
}
