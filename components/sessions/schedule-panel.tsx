import { commandAction } from "@/lib/actions/command-action";
import { scheduleAllows } from "@/lib/engine/legality";
import type { SessionDetail } from "@/lib/db/queries/sessions";
import { ChangeSwitchTimeForm } from "@/components/schedules/change-switch-time-form";
import { ConfirmAction } from "@/components/ui/confirm-action";
import { utcText } from "@/components/ui/format";
import { LocalTime } from "@/components/ui/local-time";
import { formatInZone, toLocalInputValue } from "@/components/ui/zoned-time";

/** The session's switch schedule: when (in the zone it was entered in, in UTC, in the viewer's zone), and its controls. */
export function SchedulePanel({
  detail,
  canChange,
  zones,
}: {
  detail: SessionDetail;
  canChange: boolean;
  zones: string[];
}) {
  const { schedule, session, items } = detail;
  if (!schedule) return null;
  const editable = canChange && scheduleAllows(session, schedule, items, "change_switch_time");
  const utc = utcText(schedule.runAt);
  return (
    <section
      aria-label="Switch schedule"
      data-testid="schedule"
      data-state={schedule.state}
      className="rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200"
    >
      <h2 className="text-base font-semibold">Switch schedule</h2>
      <p className="mt-1 text-sm text-slate-700">
        {schedule.state === "pending"
          ? "Switches at "
          : schedule.state === "started"
            ? "The scheduled switch started; it was set for "
            : "Cancelled; it was set for "}
        <strong data-testid="schedule-local">
          {formatInZone(schedule.runAt, schedule.timeZone, schedule.runAt.getUTCSeconds() !== 0)} {schedule.timeZone}
        </strong>
        {" = "}
        <span data-testid="schedule-utc">{utc}</span>
        <span className="text-slate-600">
          {" · your time: "}
          <LocalTime iso={schedule.runAt.toISOString()} />
        </span>
      </p>
      {editable ? (
        <div className="mt-3 flex flex-col gap-3 sm:flex-row sm:items-start">
          <div className="flex-1">
            <ChangeSwitchTimeForm
              sessionId={session.id}
              local={toLocalInputValue(schedule.runAt, schedule.timeZone)}
              timeZone={schedule.timeZone}
              zones={zones}
            />
          </div>
          <ConfirmAction
            action={commandAction("cancel-schedule")}
            fields={{ sessionId: session.id }}
            label="Cancel schedule"
            title="Cancel the scheduled switch?"
            consequence={
              <p>
                The switch will not happen at {utc}. The session turns to manual switching: each VM waits, ready to
                switch, until someone presses Switch now. Phase 1 carries on.
              </p>
            }
            confirmLabel="Yes, cancel the schedule"
            variant="danger"
          />
        </div>
      ) : null}
    </section>
  );
}
