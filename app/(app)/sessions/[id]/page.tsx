import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { ItemCard } from "@/components/sessions/item-card";
import { ItemStateBadge } from "@/components/sessions/item-state-badge";
import { EventLog } from "@/components/sessions/live/event-log";
import { SessionLiveProvider } from "@/components/sessions/live/session-live";
import { StreamStatus } from "@/components/sessions/live/stream-status";
import { ThroughputChart } from "@/components/sessions/live/throughput-chart";
import { SchedulePanel } from "@/components/sessions/schedule-panel";
import { SessionControls, type CommandPermissions } from "@/components/sessions/session-controls";
import { switchModeLabels } from "@/components/sessions/switch-mode-label";
import { NotPermitted } from "@/components/ui/not-permitted";
import { Time } from "@/components/ui/time";
import { knownTimeZones } from "@/components/ui/zoned-time";
import { actorWithPermission } from "@/lib/auth/page-guard";
import { can } from "@/lib/auth/permissions";
import { db } from "@/lib/db/client";
import { getSessionDetail } from "@/lib/db/queries/sessions";
import { loadLiveState } from "./load-live-state";

export const metadata: Metadata = { title: "Failback session" };

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function Fact({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div>
      <dt className="text-xs text-slate-500">{label}</dt>
      <dd className="mt-0.5 text-sm text-slate-800">{children}</dd>
    </div>
  );
}

export default async function SessionPage({ params }: { params: Promise<{ id: string }> }) {
  const { actor, allowed } = await actorWithPermission("session.read", "failback sessions");
  if (!allowed) return <NotPermitted what="failback sessions" />;
  const { id } = await params;
  if (!uuidPattern.test(id)) notFound();
  const detail = await getSessionDetail(db(), id);
  if (!detail) notFound();
  const live = await loadLiveState(id);
  const { session } = detail;
  // Items of one session are created in one transaction (same timestamp): order them by name, stably.
  const items = [...detail.items].sort((a, b) => a.sourceVmName.localeCompare(b.sourceVmName));
  const permissions: CommandPermissions = {
    switch: can(actor.role, "failback.switch"),
    commit: can(actor.role, "failback.commit"),
    undo: can(actor.role, "failback.undo"),
    cancel: can(actor.role, "failback.cancel"),
    retry: can(actor.role, "failback.retry"),
    schedule: can(actor.role, "schedule.write"),
  };
  const vmNames = Object.fromEntries(items.map((i) => [i.id, i.sourceVmName]));
  const names = items.map((i) => i.sourceVmName).join(", ");

  return (
    <SessionLiveProvider sessionId={session.id} initial={live} vmNames={vmNames}>
      <div className="mb-6 flex flex-col gap-3 sm:flex-row sm:items-start sm:justify-between">
        <div className="min-w-0">
          <p className="text-sm">
            <Link href="/sessions" className="text-teal-800 hover:underline">
              ← Sessions
            </Link>
          </p>
          <h1 className="mt-1 break-words text-2xl font-semibold tracking-tight">Failback of {names}</h1>
          <p className="mt-1 font-mono text-xs text-slate-500" data-testid="session-id">
            {session.id}
          </p>
        </div>
        <StreamStatus />
      </div>

      <section aria-label="Session" className="rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200">
        <div className="flex flex-wrap items-center gap-3">
          <span className="text-sm text-slate-600">State</span>
          <ItemStateBadge state={session.state} testId="session-state" />
          {session.finishedAt ? (
            <span className="text-xs text-slate-500">
              finished <Time value={session.finishedAt} />
            </span>
          ) : null}
        </div>
        <dl className="mt-4 grid grid-cols-2 gap-4 lg:grid-cols-4">
          <Fact label="Switch">{switchModeLabels[session.switchMode]}</Fact>
          <Fact label="Started">
            <Time value={session.createdAt} />
            <span className="block text-xs text-slate-500">by {session.createdByEmail ?? "unknown"}</span>
          </Fact>
          <Fact label="Quick rollback">
            {session.quickRollback ? "Yes (changed blocks only)" : "No (full comparison)"}
          </Fact>
          <Fact label="After switch">
            {session.powerOnAfter ? "Power on production" : "Leave production off"}
            <span className="block text-xs text-slate-500">
              guest shutdown timeout {Math.round(session.shutdownTimeoutSeconds / 60)} min
            </span>
          </Fact>
        </dl>
        {session.reason ? (
          <p className="mt-4 text-sm text-slate-700">
            <span className="text-slate-500">Reason: </span>
            {session.reason}
          </p>
        ) : null}
        <div className="mt-4">
          <SessionControls session={session} items={items} can={permissions} />
        </div>
      </section>

      <div className="mt-6 space-y-6">
        <SchedulePanel detail={detail} canChange={permissions.schedule} zones={knownTimeZones()} />

        <section aria-label="VMs" className="space-y-4">
          {items.map((item) => (
            <ItemCard key={item.id} session={session} item={item} several={items.length > 1} can={permissions} />
          ))}
        </section>

        <section aria-label="Throughput" className="rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200">
          <h2 className="mb-2 text-base font-semibold">Throughput</h2>
          <ThroughputChart />
        </section>

        <section aria-label="Event log" className="rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200">
          <h2 className="mb-2 text-base font-semibold">Event log</h2>
          <EventLog />
        </section>
      </div>
    </SessionLiveProvider>
  );
}
