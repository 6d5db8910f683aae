import type { Metadata } from "next";
import Link from "next/link";
import { ChangeSwitchTimeForm } from "@/components/schedules/change-switch-time-form";
import { ConfirmAction } from "@/components/ui/confirm-action";
import { EmptyState } from "@/components/ui/empty-state";
import { utcText } from "@/components/ui/format";
import { LocalTime } from "@/components/ui/local-time";
import { NotPermitted } from "@/components/ui/not-permitted";
import { PageHeader } from "@/components/ui/page-header";
import { formatInZone, knownTimeZones, toLocalInputValue } from "@/components/ui/zoned-time";
import { commandAction } from "@/lib/actions/command-action";
import { actorWithPermission } from "@/lib/auth/page-guard";
import { can } from "@/lib/auth/permissions";
import { db } from "@/lib/db/client";
import { listUpcomingSwitches } from "@/lib/db/queries/sessions";

export const metadata: Metadata = { title: "Schedules" };

export default async function SchedulesPage() {
  const { actor, allowed } = await actorWithPermission("schedule.read", "the switch schedules");
  if (!allowed) return <NotPermitted what="the switch schedules" />;
  const upcoming = await listUpcomingSwitches(db(), 200);
  const canChange = can(actor.role, "schedule.write");
  const zones = canChange ? knownTimeZones() : [];
  return (
    <>
      <PageHeader
        title="Scheduled switches"
        description="Every switch waiting for its time, across all sessions: in the zone it was entered in, in UTC and in yours."
      />
      {upcoming.length === 0 ? (
        <EmptyState title="No switch is scheduled">
          <p>
            A failback started with a scheduled switch shows here until its time comes or its schedule is cancelled.
          </p>
        </EmptyState>
      ) : (
        <ul className="space-y-4">
          {upcoming.map((s) => {
            const utc = utcText(s.runAt);
            return (
              <li
                key={s.scheduleId}
                data-testid="schedule-row"
                data-session={s.sessionId}
                className="rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200"
              >
                <div className="flex flex-col gap-2 sm:flex-row sm:items-start sm:justify-between">
                  <div className="min-w-0">
                    <Link href={`/sessions/${s.sessionId}`} className="font-medium text-teal-800 hover:underline">
                      {[...s.vmNames].sort().join(", ") || "Session"}
                    </Link>
                    <dl className="mt-2 grid gap-x-6 gap-y-1 text-sm sm:grid-cols-3">
                      <div>
                        <dt className="text-xs text-slate-500">Entered as</dt>
                        <dd>
                          {formatInZone(s.runAt, s.timeZone, s.runAt.getUTCSeconds() !== 0)} {s.timeZone}
                        </dd>
                      </div>
                      <div>
                        <dt className="text-xs text-slate-500">UTC</dt>
                        <dd data-testid="schedule-utc">{utc}</dd>
                      </div>
                      <div>
                        <dt className="text-xs text-slate-500">Your time</dt>
                        <dd>
                          <LocalTime iso={s.runAt.toISOString()} />
                        </dd>
                      </div>
                    </dl>
                  </div>
                  {canChange ? (
                    <ConfirmAction
                      action={commandAction("cancel-schedule")}
                      fields={{ sessionId: s.sessionId }}
                      label="Cancel schedule"
                      title="Cancel the scheduled switch?"
                      consequence={
                        <p>
                          The switch will not happen at {utc}. The session turns to manual switching: each VM waits,
                          ready to switch, until someone presses Switch now.
                        </p>
                      }
                      confirmLabel="Yes, cancel the schedule"
                      variant="danger"
                    />
                  ) : null}
                </div>
                {canChange ? (
                  <div className="mt-3">
                    <ChangeSwitchTimeForm
                      sessionId={s.sessionId}
                      local={toLocalInputValue(s.runAt, s.timeZone)}
                      timeZone={s.timeZone}
                      zones={zones}
                    />
                  </div>
                ) : null}
              </li>
            );
          })}
        </ul>
      )}
    </>
  );
}
