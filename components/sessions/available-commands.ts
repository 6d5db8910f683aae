// Which commands make sense for a session and for each of its VMs right now, from the rows the page shows.
// The engine decides for real (and refuses with a reason); this only keeps buttons that cannot work off screen.
import type { FailbackSession } from "@/lib/db/schema";
import type { SessionItemDetail } from "@/lib/db/queries/sessions";

type Item = Pick<SessionItemDetail, "id" | "state" | "activePlan" | "switchRequested" | "cancelRequested">;

export const itemCommands = {
  /** Waiting in ready_to_switch with nothing running. */
  switchNow: (i: Item) => i.state === "ready_to_switch" && i.activePlan === null && !i.switchRequested,
  /** Phase 1 not finished yet: a session-wide switch request makes it switch as soon as phase 1 ends. */
  switchWhenSynced: (i: Item) =>
    (i.state === "pending" || (i.state === "phase1" && i.activePlan === "phase1")) &&
    !i.switchRequested &&
    !i.cancelRequested,
  cancel: (i: Item) =>
    ((i.state === "pending" || i.state === "phase1") && !i.cancelRequested) ||
    (i.state === "needs_attention" && i.activePlan === "phase1"),
  commit: (i: Item) => i.state === "switched" && i.activePlan === null,
  undo: (i: Item) =>
    ((i.state === "switched" || i.state === "ready_to_switch") && i.activePlan === null) ||
    i.state === "needs_attention",
  retry: (i: Item) => i.state === "needs_attention",
};

export function sessionCommands(session: Pick<FailbackSession, "switchMode">, items: Item[]) {
  return {
    switchNow:
      items.some(itemCommands.switchNow) ||
      (session.switchMode !== "auto" && items.some(itemCommands.switchWhenSynced)),
    cancel: items.some(itemCommands.cancel),
    commit: items.some(itemCommands.commit),
    undo: items.some(itemCommands.undo),
  };
}
