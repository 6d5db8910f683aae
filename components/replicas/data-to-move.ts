import { formatBytes } from "@/components/ui/format";
import type { ReplicaState } from "@/lib/db/schema";

/** The workers' estimate from change tracking (lib/engine/estimate.ts), when there is one. */
export interface MoveEstimate {
  bytes: number | null;
  note: string | null;
  at: Date | null;
}

/**
 * What a failback of this replica would move. In failover: the workers' estimate from change tracking (the
 * replica's writes since failover ∪ the source's changes since the restore point) when tracking can tell, else
 * an upper bound (the replica's disks), since phase 1 sends only the blocks whose digests differ. A bound is
 * said as a bound, never as a measurement.
 */
export function dataToMove(
  state: ReplicaState,
  sizeBytes: number,
  failedOverFromSeq: number | null,
  estimate: MoveEstimate = { bytes: null, note: null, at: null },
): { text: string; explanation: string } {
  switch (state) {
    case "failover":
      if (estimate.bytes !== null && estimate.at) {
        return {
          text: `≈ ${formatBytes(estimate.bytes)}`,
          explanation: `From change tracking at ${estimate.at.toISOString().slice(0, 16).replace("T", " ")} UTC: the replica's writes since failover${
            failedOverFromSeq ? ` and the source's changes since restore point #${failedOverFromSeq}` : ""
          }. Phase 1 sends only the blocks among these whose digests differ; a new location copies all allocated data.`,
        };
      }
      return {
        text: `≤ ${formatBytes(sizeBytes)}`,
        explanation: `At most the replica's disks${estimate.note ? ` (${estimate.note})` : ""}. Phase 1 compares block digests and sends only what differs: the replica's writes since failover${
          failedOverFromSeq ? ` and the source's changes since restore point #${failedOverFromSeq}` : ""
        }. A new location copies all allocated data.`,
      };
    case "ready_to_switch":
      return {
        text: "writes since phase 1",
        explanation: "Phase 2 sends what the replica wrote after phase 1's protective snapshot.",
      };
    case "failback":
      return { text: "—", explanation: "Switched; awaiting commit or undo." };
    case "ready":
      return { text: "—", explanation: "Replication is active: nothing to bring back." };
  }
}
