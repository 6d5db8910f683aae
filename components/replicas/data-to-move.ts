import { formatBytes } from "@/components/ui/format";
import type { ReplicaState } from "@/lib/db/schema";

/**
 * What a failback of this replica would move, as far as the inventory can tell without asking the hypervisors:
 * an upper bound (the replica's disks) while in failover, since phase 1 sends only the blocks whose digests
 * differ. Said as a bound, never as a measurement.
 */
export function dataToMove(state: ReplicaState, sizeBytes: number, failedOverFromSeq: number | null): { text: string; explanation: string } {
  switch (state) {
    case "failover":
      return {
        text: `≤ ${formatBytes(sizeBytes)}`,
        explanation: `At most the replica's disks. Phase 1 compares block digests and sends only what differs: the replica's writes since failover${
          failedOverFromSeq ? ` and the source's changes since restore point #${failedOverFromSeq}` : ""
        }. A new location copies all allocated data.`,
      };
    case "ready_to_switch":
      return { text: "writes since phase 1", explanation: "Phase 2 sends what the replica wrote after phase 1's protective snapshot." };
    case "failback":
      return { text: "—", explanation: "Switched; awaiting commit or undo." };
    case "ready":
      return { text: "—", explanation: "Replication is active: nothing to bring back." };
  }
}
