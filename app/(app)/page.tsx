import type { Metadata } from "next";
import Link from "next/link";
import { replicaStateLabels } from "@/components/replicas/replica-state-badge";
import { PageHeader } from "@/components/ui/page-header";
import { actorWithPermission } from "@/lib/auth/page-guard";
import { NotPermitted } from "@/components/ui/not-permitted";
import { db } from "@/lib/db/client";
import { countReplicasByState } from "@/lib/db/queries/replicas";
import { replicaStates } from "@/lib/db/schema";

export const metadata: Metadata = { title: "Overview" };

export default async function OverviewPage() {
  const { allowed } = await actorWithPermission("replica.read", "overview");
  if (!allowed) return <NotPermitted what="the overview" />;
  const counts = await countReplicasByState(db());
  const total = replicaStates.reduce((sum, s) => sum + counts[s], 0);
  return (
    <>
      <PageHeader title="Overview" description="Where your replicas stand at a glance." />
      <dl className="grid grid-cols-2 gap-4 lg:grid-cols-4">
        {replicaStates.map((state) => (
          <div key={state} className="rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200">
            <dt className="text-sm text-slate-600">{replicaStateLabels[state]}</dt>
            <dd className="mt-1 text-3xl font-semibold tabular-nums" data-testid={`count-${state}`}>
              {counts[state]}
            </dd>
          </div>
        ))}
      </dl>
      <p className="mt-6 text-sm text-slate-600">
        {total === 0 ? "No replicas are known yet. " : `${total} replica${total === 1 ? "" : "s"} in all. `}
        <Link href="/replicas" className="font-medium text-teal-800 underline-offset-2 hover:underline">
          See the replicas
        </Link>
      </p>
    </>
  );
}
