// Which operator commands an item or a session allows right now, as pure functions of their state. The engine
// refuses with these (a typed INVALID_STATE) and the dashboard shows buttons with these, so the two can never
// disagree. No I/O and no server imports: client components use this file too.
import type { FailbackItem, FailbackSession, ItemState, SwitchSchedule } from "@/lib/db/schema";
import { isRunnablePlan, type RunnablePlan } from "./plans";

/** What an operator can ask of one VM of a session. */
export const itemCommandNames = ["switch_now", "switch_when_synced", "commit", "undo", "cancel", "retry"] as const;
export type ItemCommand = (typeof itemCommandNames)[number];

/** What an operator can ask of a session's switch schedule. */
export const scheduleCommandNames = ["change_switch_time", "cancel_schedule"] as const;
export type ScheduleCommand = (typeof scheduleCommandNames)[number];

export type ItemFacts = Pick<
  FailbackItem,
  "state" | "activePlan" | "resumeState" | "switchRequested" | "cancelRequested"
>;
export type SessionFacts = Pick<FailbackSession, "switchMode">;
export type ScheduleFacts = Pick<SwitchSchedule, "state"> | null;

export const terminalStates: readonly ItemState[] = ["committed", "undone", "cancelled"];

/** Where a needs_attention item stopped: in phase 1 (nothing switched yet) or at or after the switch. */
export function stoppedIn(item: Pick<ItemFacts, "resumeState">): "phase1" | "switching" {
  return item.resumeState === "phase1" || item.resumeState === "pending" ? "phase1" : "switching";
}

/** Whether one VM allows `command` now. */
export function itemAllows(item: ItemFacts, command: ItemCommand): boolean {
  const idle = item.activePlan === null;
  switch (command) {
    case "switch_now":
      return item.state === "ready_to_switch" && idle && !item.switchRequested && !item.cancelRequested;
    case "switch_when_synced":
      // Phase 1 still running: a switch request makes the VM switch as soon as phase 1 ends.
      return (
        (item.state === "pending" || (item.state === "phase1" && item.activePlan === "phase1")) &&
        !item.switchRequested &&
        !item.cancelRequested
      );
    case "commit":
      return item.state === "switched" && idle;
    case "undo":
      // Undo is possible from any point before commit, including a VM stopped mid-switch.
      return (
        ((item.state === "switched" || item.state === "ready_to_switch") && idle) || item.state === "needs_attention"
      );
    case "cancel":
      if (item.state === "pending" || item.state === "phase1") {
        return !item.cancelRequested && item.activePlan !== "cancel_phase1";
      }
      return item.state === "needs_attention" && stoppedIn(item) === "phase1";
    case "retry":
      return item.state === "needs_attention" && isRunnablePlan(item.activePlan) && item.resumeState !== null;
  }
}

export function allowedItemCommands(item: ItemFacts): ItemCommand[] {
  return itemCommandNames.filter((command) => itemAllows(item, command));
}

/**
 * The items a session-wide command acts on. Switch now takes the VMs waiting to switch and, unless the session
 * switches by itself (auto), those still in phase 1.
 */
export function itemsForSessionCommand<T extends ItemFacts>(
  session: SessionFacts,
  items: readonly T[],
  command: Exclude<ItemCommand, "switch_when_synced">,
): T[] {
  if (command !== "switch_now") return items.filter((item) => itemAllows(item, command));
  return items.filter(
    (item) =>
      itemAllows(item, "switch_now") || (session.switchMode !== "auto" && itemAllows(item, "switch_when_synced")),
  );
}

/** A VM the switch has not reached yet: still to sync, syncing, or synced and waiting. */
export function waitingToSwitch(item: Pick<ItemFacts, "state">): boolean {
  return item.state === "pending" || item.state === "phase1" || item.state === "ready_to_switch";
}

/** Whether the session's switch schedule allows `command` now. */
export function scheduleAllows(
  session: SessionFacts,
  schedule: ScheduleFacts,
  items: readonly Pick<ItemFacts, "state">[],
  command: ScheduleCommand,
): boolean {
  const pending = session.switchMode === "scheduled" && schedule?.state === "pending";
  if (command === "cancel_schedule") return pending;
  return pending && items.some(waitingToSwitch);
}

/** The buttons of a session as a whole: each command that at least one of its VMs allows. */
export function sessionCommandsAllowed(session: SessionFacts, schedule: ScheduleFacts, items: readonly ItemFacts[]) {
  return {
    switchNow: itemsForSessionCommand(session, items, "switch_now").length > 0,
    commit: itemsForSessionCommand(session, items, "commit").length > 0,
    undo: itemsForSessionCommand(session, items, "undo").length > 0,
    cancel: itemsForSessionCommand(session, items, "cancel").length > 0,
    retry: itemsForSessionCommand(session, items, "retry").length > 0,
    changeSwitchTime: scheduleAllows(session, schedule, items, "change_switch_time"),
    cancelSchedule: scheduleAllows(session, schedule, items, "cancel_schedule"),
  };
}

/** The plan undo starts for a VM that allows it. */
export function undoPlanFor(item: ItemFacts): RunnablePlan {
  if (item.state === "switched") return "undo_after_switch";
  if (item.state === "ready_to_switch") return "undo_before_switch";
  // needs_attention: an undo or cancel that itself stopped runs again; otherwise undo what was reached.
  if (
    item.activePlan === "undo_after_switch" ||
    item.activePlan === "undo_before_switch" ||
    item.activePlan === "cancel_phase1"
  ) {
    return item.activePlan;
  }
  if (item.resumeState === "ready_to_switch") return "undo_before_switch";
  return stoppedIn(item) === "phase1" ? "cancel_phase1" : "undo_after_switch";
}

/** Why a command is refused for a VM, in words an operator can act on. */
export function refusalOf(item: ItemFacts, command: ItemCommand): string {
  const state = item.state.replace(/_/g, " ");
  const running = item.activePlan && item.state !== "needs_attention" ? item.activePlan.replace(/_/g, " ") : null;
  if (running) return `Not possible while a ${running} is running for this VM (${state}): ${words[command]}.`;
  return `Not possible while the VM is ${state}: ${words[command]}.`;
}

const words: Record<ItemCommand, string> = {
  switch_now: "switch now",
  switch_when_synced: "switch after phase 1",
  commit: "commit",
  undo: "undo",
  cancel: "cancel",
  retry: "retry",
};
