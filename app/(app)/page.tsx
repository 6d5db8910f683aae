import type { Metadata } from "next";
import Link from "next/link";
import { stepProgressOf } from "@/components/overview/step-progress";
import { replicaStateLabels } from "@/components/replicas/replica-state-badge";
import { ItemStateBadge } from "@/components/sessions/item-state-badge";
import { utcText } from "@/components/ui/format";
import { LocalTime } from "@/components/ui/local-time";
import { NotPermitted } from "@/components/ui/not-permitted";
import { PageHeader } from "@/components/ui/page-header";
import { ProgressBar } from "@/components/ui/progress-bar";
import { formatInZone } from "@/components/ui/zoned-time";
import { actorWithPermission } from "@/lib/auth/page-guard";
import { db } from "@/lib/db/client";
import { countReplicasByState } from "@/lib/db/queries/replicas";
import {
  countItemsNeedingAttention,
  getSessionDetail,
  listSessions,
  listUpcomingSwitches,
  type SessionDetail,
} from "@/lib/db/queries/sessions";
import { replicaStates } from "@/lib/db/schema";

export const metadata: Metadata = { title: "Overview" };

const card = "rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200";
const link = "font-medium text-teal-800 underline-offset-2 hover:underline";

async function details(ids: string[]): Promise<SessionDetail[]> {
  const loaded = await Promise.all(ids.map((id) => getSessionDetail(db(), id)));
  return loaded.filter((d): d is SessionDetail => d !== null);
}

export default async function OverviewPage() {
  const { allowed } = await actorWithPermission("replica.read", "overview");
  if (!allowed) return <NotPermitted what="the overview" />;
  const [counts, running, attentionSessions, attentionCount, upcoming] = await Promise.all([
    countReplicasByState(db()),
    listSessions(db(), { live: true, limit: 8 }),
    listSessions(db(), { state: "needs_attention", limit: 8 }),
    countItemsNeedingAttention(db()),
    listUpcomingSwitches(db(), 5),
  ]);
  const [runningDetails, attentionDetails] = await Promise.all([
    details(running.map((s) => s.id)),
    details(attentionSessions.map((s) => s.id)),
  ]);
  const total = replicaStates.reduce((sum, s) => sum + counts[s], 0);

  return (
    <>
      <PageHeader title="Overview" description="Where your replicas stand, what is running, and what needs you." />
      <dl className="grid grid-cols-2 gap-4 lg:grid-cols-4">
        {replicaStates.map((state) => (
          <Link key={state} href={`/replicas?state=${state}`} className={`${card} hover:ring-teal-600`}>
            <dt className="text-sm text-slate-600">{replicaStateLabels[state]}</dt>
            <dd className="mt-1 text-3xl font-semibold tabular-nums" data-testid={`count-${state}`}>
              {counts[state]}
            </dd>
          </Link>
        ))}
      </dl>
      <p className="mt-3 text-sm text-slate-600">
        {total === 0 ? "No replicas are known yet. " : `${total} replica${total === 1 ? "" : "s"} in all. `}
        <Link href="/replicas" className={link}>
          See the replicas
        </Link>
      </p>

      {attentionCount > 0 ? (
        <section
          aria-label="Needs attention"
          data-testid="attention"
          className="mt-6 rounded-lg border border-red-200 bg-red-50 p-4"
        >
          <h2 className="text-base font-semibold text-red-900">
            {attentionCount} VM{attentionCount === 1 ? "" : "s"} need{attentionCount === 1 ? "s" : ""} attention
          </h2>
          <ul className="mt-2 space-y-2 text-sm">
            {attentionDetails.flatMap((d) =>
              d.items
                .filter((i) => i.state === "needs_attention")
                .map((i) => (
                  <li key={i.id}>
                    <Link href={`/sessions/${d.session.id}`} className={link}>
                      {i.sourceVmName}
                    </Link>
                    <span className="text-red-900">: {i.attentionReason ?? "stopped"}</span>
                  </li>
                )),
            )}
          </ul>
        </section>
      ) : null}

      <div className="mt-6 grid gap-6 lg:grid-cols-3">
        <section aria-label="Running failbacks" className={`${card} lg:col-span-2`}>
          <div className="flex items-baseline justify-between">
            <h2 className="text-base font-semibold">Running failbacks</h2>
            <Link href="/sessions" className="text-sm text-teal-800 hover:underline">
              All sessions
            </Link>
          </div>
          {runningDetails.length === 0 ? (
            <p className="mt-2 text-sm text-slate-600">No failback is running.</p>
          ) : (
            <ul className="mt-3 space-y-4">
              {runningDetails.map((d) => {
                const progress = stepProgressOf(d);
                return (
                  <li key={d.session.id} data-testid="running-session" data-session={d.session.id}>
                    <div className="mb-1 flex flex-wrap items-center justify-between gap-2">
                      <Link href={`/sessions/${d.session.id}`} className={link}>
                        {d.items
                          .map((i) => i.sourceVmName)
                          .sort()
                          .join(", ")}
                      </Link>
                      <ItemStateBadge state={d.session.state} />
                    </div>
                    <ProgressBar
                      label={`${progress.done} of ${progress.total} steps of phase 1 and 2`}
                      done={progress.done}
                      total={progress.total}
                    />
                  </li>
                );
              })}
            </ul>
          )}
        </section>

        <section aria-label="Next scheduled switches" className={card}>
          <div className="flex items-baseline justify-between">
            <h2 className="text-base font-semibold">Next switches</h2>
            <Link href="/schedules" className="text-sm text-teal-800 hover:underline">
              Schedules
            </Link>
          </div>
          {upcoming.length === 0 ? (
            <p className="mt-2 text-sm text-slate-600">No switch is scheduled.</p>
          ) : (
            <ul className="mt-3 space-y-3 text-sm">
              {upcoming.map((s) => (
                <li key={s.scheduleId}>
                  <Link href={`/sessions/${s.sessionId}`} className={link}>
                    {[...s.vmNames].sort().join(", ")}
                  </Link>
                  <div className="text-slate-700">
                    <LocalTime iso={s.runAt.toISOString()} />
                  </div>
                  <div className="text-xs text-slate-500">
                    {utcText(s.runAt)} · entered as {formatInZone(s.runAt, s.timeZone, s.runAt.getUTCSeconds() !== 0)}{" "}
                    {s.timeZone}
                  </div>
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>
    </>
  );
}
