import type { ReplicaState } from "@/lib/db/schema";
import { Badge, type BadgeTone } from "@/components/ui/badge";

export const replicaStateLabels: Record<ReplicaState, string> = {
  ready: "Ready",
  failover: "Failover",
  ready_to_switch: "Ready to switch",
  failback: "Failback",
};

const tones: Record<ReplicaState, BadgeTone> = {
  ready: "teal",
  failover: "amber",
  ready_to_switch: "blue",
  failback: "blue",
};

export function ReplicaStateBadge({ state }: { state: ReplicaState }) {
  return <Badge tone={tones[state]}>{replicaStateLabels[state]}</Badge>;
}
