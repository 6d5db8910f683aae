// The hypervisor facts a failback's pre-flight needs, per requested VM. The web tier never drives a hypervisor:
// it asks a worker for these (a worker request, lib/engine/worker-requests), and phase 1's first step collects
// them again in the worker, fresh, before anything is written.
import type { FailbackItemRequest } from "../types";

export interface HypervisorFacts {
  /** Free bytes where the target's disks would grow; null when the target is unknown or did not say. */
  freeSpaceBytes: number | null;
  /** The source's change tracking, which quick rollback compares (target original only; null otherwise). */
  sourceTracking: { intact: true } | { intact: false; reason: string } | null;
  /** Why the hosts could not be asked at all, when they could not. */
  unreachable: string | null;
}

/** Collects the facts of each requested VM, in the request's order. */
export type PreflightFactsSource = (items: FailbackItemRequest[]) => Promise<HypervisorFacts[]>;

export const noFacts: HypervisorFacts = { freeSpaceBytes: null, sourceTracking: null, unreachable: null };
