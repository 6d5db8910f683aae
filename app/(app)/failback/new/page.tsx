import type { Metadata } from "next";
import Link from "next/link";
import { FailbackWizard } from "@/components/failback/failback-wizard";
import type { WizardReplicaView } from "@/components/failback/wizard-model";
import { EmptyState } from "@/components/ui/empty-state";
import { NotPermitted } from "@/components/ui/not-permitted";
import { PageHeader } from "@/components/ui/page-header";
import { knownTimeZones } from "@/components/ui/zoned-time";
import { actorWithPermission } from "@/lib/auth/page-guard";
import { db } from "@/lib/db/client";
import { listFailbackTargetChoices, replicasForWizard } from "@/lib/db/queries/replicas";
import type { PreflightResult } from "@/lib/engine";
import { checkFailback, startFailbackSchema } from "@/lib/engine/start-session";
import { describeError } from "@/lib/errors";
import { webServices } from "@/lib/server/engine-instance";

export const metadata: Metadata = { title: "Start a failback" };

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The first pre-flight, with every replica going to its original VM: tells which may use quick rollback and
 * which are refused outright. The hypervisors' side of it comes from a worker.
 */
async function firstPreflight(ids: string[]): Promise<PreflightResult[]> {
  try {
    const request = startFailbackSchema.parse({
      items: ids.map((replicaId) => ({ replicaId, target: "original" })),
      switchMode: "manual",
    });
    const checked = await checkFailback(db(), request, webServices().preflightFacts);
    return checked.preflight;
  } catch (err) {
    console.error(`[wizard] first pre-flight failed: ${describeError(err)}`);
    return [];
  }
}

export default async function NewFailbackPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const { allowed } = await actorWithPermission("failback.start", "the failback wizard");
  if (!allowed) return <NotPermitted what="the failback wizard" />;
  const params = await searchParams;
  const asked = [params.replica ?? []].flat().filter((id) => uuidPattern.test(id));
  const ids = [...new Set(asked)].slice(0, 200);
  const replicas = await replicasForWizard(db(), ids);
  if (replicas.length === 0) {
    return (
      <>
        <PageHeader title="Start a failback" />
        <EmptyState title="No replicas chosen">
          <p>
            Choose the replicas to bring home on the{" "}
            <Link href="/replicas?state=failover" className="font-medium text-teal-800 hover:underline">
              replicas page
            </Link>{" "}
            (those in failover), then press Start failback.
          </p>
        </EmptyState>
      </>
    );
  }
  const [preflight, choices] = await Promise.all([
    firstPreflight(replicas.map((r) => r.id)),
    listFailbackTargetChoices(db()),
  ]);
  const views: WizardReplicaView[] = replicas.map((r) => {
    const check = preflight.find((p) => p.replicaId === r.id);
    return {
      id: r.id,
      state: r.state,
      sourceVmName: r.sourceVmName,
      sourceSiteName: r.sourceSiteName,
      replicaVmName: r.replicaVmName,
      cpus: r.cpus,
      memoryMib: r.memoryMib,
      sizeBytes: r.sizeBytes,
      disks: r.disks,
      quickRollback: check?.quickRollback ?? { allowed: false, reason: "The pre-flight could not be run." },
      refusals: check?.refusals.filter((x) => !x.field.endsWith(".quickRollback")).map((x) => x.message) ?? [],
      warnings: check?.warnings ?? [],
    };
  });
  return (
    <>
      <PageHeader
        title="Start a failback"
        description={`Bring ${views.length === 1 ? "this replica" : `these ${views.length} replicas`} home: phase 1 syncs while the replica keeps running; phase 2 switches.`}
      />
      <FailbackWizard replicas={views} choices={choices} zones={knownTimeZones()} />
    </>
  );
}
