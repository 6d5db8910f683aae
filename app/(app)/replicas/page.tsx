import type { Metadata } from "next";
import { ReplicaStateBadge } from "@/components/replicas/replica-state-badge";
import { EmptyState } from "@/components/ui/empty-state";
import { NotPermitted } from "@/components/ui/not-permitted";
import { PageHeader } from "@/components/ui/page-header";
import { Time } from "@/components/ui/time";
import { actorWithPermission } from "@/lib/auth/page-guard";
import { db } from "@/lib/db/client";
import { listReplicas } from "@/lib/db/queries/replicas";

export const metadata: Metadata = { title: "Replicas" };

export default async function ReplicasPage() {
  const { allowed } = await actorWithPermission("replica.read", "replicas");
  if (!allowed) return <NotPermitted what="the replicas" />;
  const rows = await listReplicas(db());
  return (
    <>
      <PageHeader title="Replicas" description="Copies of your production VMs at the DR site, and where each one stands." />
      {rows.length === 0 ? (
        <EmptyState title="No replicas yet">
          <p>
            Replicas appear here once hosts are registered and VMs are replicated. To try the product with a lab of real QEMU VMs, run{" "}
            <code className="rounded bg-slate-100 px-1">npm run lab -- create</code> and reload this page.
          </p>
        </EmptyState>
      ) : (
        <div className="overflow-x-auto rounded-lg bg-white shadow-sm ring-1 ring-slate-200">
          <table className="min-w-full divide-y divide-slate-200 text-sm">
            <thead className="bg-slate-50 text-left text-xs font-semibold uppercase tracking-wide text-slate-600">
              <tr>
                <th scope="col" className="px-4 py-3">Source VM</th>
                <th scope="col" className="px-4 py-3">Replica</th>
                <th scope="col" className="px-4 py-3">State</th>
                <th scope="col" className="px-4 py-3">Restore points</th>
                <th scope="col" className="px-4 py-3">Last replicated</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {rows.map((r) => (
                <tr key={r.id} data-testid="replica-row">
                  <td className="px-4 py-3">
                    <div className="font-medium">{r.sourceVmName}</div>
                    <div className="text-xs text-slate-500">{r.sourceSiteName}</div>
                  </td>
                  <td className="px-4 py-3">
                    <div>{r.replicaVmName}</div>
                    <div className="text-xs text-slate-500">{r.replicaSiteName}</div>
                  </td>
                  <td className="px-4 py-3">
                    <ReplicaStateBadge state={r.state} />
                    {r.replicationOnHold ? <div className="mt-1 text-xs text-slate-500">replication on hold</div> : null}
                  </td>
                  <td className="px-4 py-3 tabular-nums">{r.restorePoints}</td>
                  <td className="px-4 py-3 text-slate-600">
                    <Time value={r.lastReplicatedAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
