// Failover: the replica runs from its latest restore point, its writes landing in a `failover` layer whose
// allocated extents are exactly what it changed (a free changed-block list for quick rollback).
import type { Provider } from "@/lib/providers/types";

export const failoverLayer = "failover";

export async function failover(provider: Provider, replicaVmId: string): Promise<void> {
  await provider.ensureSnapshot(replicaVmId, failoverLayer, "protective");
  await provider.powerOn(replicaVmId);
}
