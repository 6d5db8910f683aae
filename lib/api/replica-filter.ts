// Filtering the replica list by the API's query (state, site, part of a name). The estate is small enough
// (hundreds of replicas) that the list query is read whole and filtered here.
import type { ReplicaRow } from "@/lib/db/queries/replicas";
import type { ReplicaState } from "@/lib/db/schema";

export interface ReplicaFilter {
  state?: ReplicaState;
  site?: string;
  name?: string;
}

export function filterReplicas(rows: ReplicaRow[], filter: ReplicaFilter): ReplicaRow[] {
  const site = filter.site?.toLowerCase();
  const name = filter.name?.toLowerCase();
  return rows.filter(
    (r) =>
      (!filter.state || r.state === filter.state) &&
      (!site || r.sourceSiteName.toLowerCase() === site || r.replicaSiteName.toLowerCase() === site) &&
      (!name || r.sourceVmName.toLowerCase().includes(name) || r.replicaVmName.toLowerCase().includes(name)),
  );
}
