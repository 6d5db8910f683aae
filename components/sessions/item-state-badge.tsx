import type { ItemState } from "@/lib/db/schema";
import { Badge, type BadgeTone } from "@/components/ui/badge";

/** The item (and session) states exactly as the engine records them, in words. */
export const itemStateLabels: Record<ItemState, string> = {
  pending: "Pending",
  phase1: "Phase 1: syncing",
  ready_to_switch: "Ready to switch",
  switching: "Switching",
  switched: "Switched: awaiting commit",
  committed: "Committed",
  undone: "Undone",
  cancelled: "Cancelled",
  needs_attention: "Needs attention",
};

const tones: Record<ItemState, BadgeTone> = {
  pending: "slate",
  phase1: "blue",
  ready_to_switch: "blue",
  switching: "blue",
  switched: "amber",
  committed: "teal",
  undone: "slate",
  cancelled: "slate",
  needs_attention: "red",
};

export function ItemStateBadge({ state, testId }: { state: ItemState; testId?: string }) {
  return (
    <span data-testid={testId} data-state={state}>
      <Badge tone={tones[state]}>{itemStateLabels[state]}</Badge>
    </span>
  );
}
