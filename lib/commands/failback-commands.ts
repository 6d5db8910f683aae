// The failback's commands: check and start a failback, then steer it — switch now, change or cancel the
// switch time, commit, undo, cancel, retry. The engine's functions do the work in the catalogue's transaction;
// each entry here says who may ask, what it takes, what it is audited as and where it is offered.
import type { z } from "zod";
import { cancel, commit, retry, switchNow, undo, type CommandResult } from "@/lib/engine/commands/item-commands";
import { cancelSchedule, changeSwitchTime } from "@/lib/engine/commands/schedule-commands";
import { stepsOf } from "@/lib/engine/plans";
import type { PreflightResult } from "@/lib/engine/preflight/checks";
import {
  checkFailback,
  recordFailback,
  refuseUnlessStartable,
  startFailbackSchema,
  type StartFailbackInput,
} from "@/lib/engine/start-session";
import type { FieldErrors } from "@/lib/errors";
import type { Permission } from "@/lib/auth/permissions";
import type { Tx } from "@/lib/db/client";
import { defineCommand, type CommandActor, type PrepareContext } from "./define";
import { changeSwitchTimeInput, itemCommandInput, sessionOnlyInput } from "./inputs";

type ItemInput = z.infer<typeof itemCommandInput>;

/** The pages that show a session's state: its own, the lists and the overview. */
const sessionPages = (result: { sessionId: string }) => [
  `/sessions/${result.sessionId}`,
  "/sessions",
  "/schedules",
  "/replicas",
  "/",
];

/**
 * A command on a session's VMs (switch now, commit, undo, cancel, retry): the whole session or one VM of it
 * (`itemId`), at POST /sessions/{sessionId}/<name>. The engine's call does the work; the audit note says which VMs.
 */
function itemCommand(spec: {
  name: string;
  title: string;
  summary: string;
  permission: Permission;
  audit: string;
  call: (tx: Tx, actor: CommandActor, input: ItemInput) => Promise<CommandResult>;
}) {
  return defineCommand({
    name: spec.name,
    title: spec.title,
    summary: spec.summary,
    permission: spec.permission,
    audit: spec.audit,
    target: "failback_session",
    input: itemCommandInput,
    http: { method: "POST", path: `/sessions/{sessionId}/${spec.name}`, response: "CommandResult" },
    cli: true,
    async run({ tx, actor, input, audit, nudge }) {
      const result = await spec.call(tx, actor, input);
      audit({
        targetType: "failback_session",
        targetId: input.sessionId,
        details: { itemId: input.itemId ?? null, items: result.itemIds },
      });
      nudge({ itemIds: result.itemIds });
      return result;
    },
    message: (result) => result.message,
    pages: sessionPages,
  });
}

export interface FailbackReview {
  ok: boolean;
  /** Why it cannot start, by field (items.0.replicaId, switchAt.local, …). */
  fieldErrors: FieldErrors;
  /** The scheduled switch instant (UTC ISO), when scheduled. */
  runAt: string | null;
  preflight: PreflightResult[];
  /** Exactly the steps each replica will run, in order. */
  plans: { replicaId: string; phase1: PlannedStepView[]; phase2: PlannedStepView[] }[];
}

export interface PlannedStepView {
  kind: string;
  title: string;
  /** Stays in the plan but will be skipped (shown as such, so the list is honest). */
  skipped: boolean;
}

function plansOf(input: StartFailbackInput): FailbackReview["plans"] {
  return input.items.map((item) => {
    const options = { target: item.target, quickRollback: input.quickRollback, powerOnAfter: input.powerOnAfter };
    const view = (plan: "phase1" | "phase2") =>
      stepsOf(plan, options).map((s) => ({ kind: s.kind, title: s.title, skipped: Boolean(s.skipWhen) }));
    return { replicaId: item.replicaId, phase1: view("phase1"), phase2: view("phase2") };
  });
}

/** The pre-flight, with the hypervisor facts from whoever collects them (a worker, asked by the web tier). */
const checkInWorker = async ({ db, input, services }: PrepareContext<StartFailbackInput>) =>
  checkFailback(db, input, services.preflightFacts);

export const checkFailbackCommand = defineCommand({
  name: "check",
  title: "Check",
  summary: "Validate and pre-flight a failback request without starting anything (the wizard's review).",
  permission: "failback.start",
  audit: "failback.check",
  target: "replica",
  input: startFailbackSchema,
  http: { method: "POST", path: "/sessions/check", response: "FailbackReview" },
  cli: true,
  prepare: checkInWorker,
  async run({ input, prepared, audit }): Promise<FailbackReview> {
    audit({
      details: { replicas: input.items.map((i) => i.replicaId), ok: prepared.code === null, code: prepared.code },
    });
    return {
      ok: prepared.code === null,
      fieldErrors: prepared.fields,
      runAt: prepared.runAt?.toISOString() ?? null,
      preflight: prepared.preflight,
      plans: plansOf(input),
    };
  },
});

export const startFailbackCommand = defineCommand({
  name: "start",
  title: "Start failback",
  summary: "Start a failback of one or more replicas (phase 1 now; the switch as the switch mode says).",
  permission: "failback.start",
  audit: "failback.start",
  target: "failback_session",
  input: startFailbackSchema,
  http: {
    method: "POST",
    path: "/sessions",
    created: (started) => `/api/v1/sessions/${started.sessionId}`,
    response: "StartedFailback",
  },
  cli: true,
  // The engine pre-flights again here: what was reviewed may have changed since.
  prepare: async (ctx) => {
    const checked = await checkInWorker(ctx);
    refuseUnlessStartable(checked);
    return checked;
  },
  async run({ tx, actor, input, prepared, audit, nudge }) {
    const started = await recordFailback(tx, actor, input, prepared);
    audit({
      targetType: "failback_session",
      targetId: started.sessionId,
      reason: input.reason || undefined,
      details: {
        replicas: input.items.map((i) => i.replicaId),
        targets: input.items.map((i) => i.target),
        quickRollback: input.quickRollback,
        switchMode: input.switchMode,
        runAt: started.runAt?.toISOString() ?? null,
        timeZone: input.switchAt?.timeZone ?? null,
        powerOnAfter: input.powerOnAfter,
      },
    });
    nudge({
      itemIds: started.itemIds,
      schedule: started.scheduleId && started.runAt ? { id: started.scheduleId, runAt: started.runAt } : undefined,
    });
    return started;
  },
  message: () => "Failback started.",
  pages: sessionPages,
});

export const switchNowCommand = itemCommand({
  name: "switch-now",
  title: "Switch now",
  summary: "Switch now (phase 2) for the VMs waiting to switch, or as soon as phase 1 ends.",
  permission: "failback.switch",
  audit: "failback.switch_now",
  call: switchNow,
});

export const changeSwitchTimeCommand = defineCommand({
  name: "reschedule",
  title: "Change switch time",
  summary: "Change the scheduled switch time (a wall-clock time in an IANA zone).",
  permission: "schedule.write",
  audit: "failback.schedule.change",
  target: "failback_session",
  input: changeSwitchTimeInput,
  http: { method: "POST", path: "/sessions/{sessionId}/reschedule", response: "CommandResult" },
  cli: true,
  async run({ tx, actor, input, audit, nudge }) {
    const result = await changeSwitchTime(tx, actor, input);
    const runAt = result.schedule?.runAt.toISOString() ?? null;
    audit({
      targetType: "failback_session",
      targetId: input.sessionId,
      details: { local: input.local, timeZone: input.timeZone, runAt },
    });
    nudge({ schedule: result.schedule });
    return result;
  },
  message: (r) => (r.schedule ? `Switch time changed to ${utcWords(r.schedule.runAt)}.` : r.message),
  pages: sessionPages,
});

export const cancelScheduleCommand = defineCommand({
  name: "cancel-schedule",
  title: "Cancel schedule",
  summary: "Cancel the scheduled switch; the session switches manually (Switch now) from then on.",
  permission: "schedule.write",
  audit: "failback.schedule.cancel",
  target: "failback_session",
  input: sessionOnlyInput,
  http: { method: "POST", path: "/sessions/{sessionId}/cancel-schedule", response: "CommandResult" },
  cli: true,
  async run({ tx, actor, input, audit }) {
    const { cancelledRunAt, ...result } = await cancelSchedule(tx, actor, input);
    audit({ targetType: "failback_session", targetId: input.sessionId, details: { runAt: cancelledRunAt } });
    return result;
  },
  message: (r) => r.message,
  pages: sessionPages,
});

export const commitCommand = itemCommand({
  name: "commit",
  title: "Commit",
  summary: "Commit switched VMs: the replicas return to ready and replication resumes.",
  permission: "failback.commit",
  audit: "failback.commit",
  call: commit,
});

export const undoCommand = itemCommand({
  name: "undo",
  title: "Undo",
  summary: "Undo: production powers off and the replicas run again in failover.",
  permission: "failback.undo",
  audit: "failback.undo",
  call: undo,
});

export const cancelCommand = itemCommand({
  name: "cancel",
  title: "Cancel",
  summary: "Cancel phase 1 at a safe point; production's base disks stay untouched.",
  permission: "failback.cancel",
  audit: "failback.cancel",
  call: cancel,
});

export const retryCommand = itemCommand({
  name: "retry",
  title: "Retry",
  summary: "Retry the stopped step of VMs that need attention, from its last checkpoint.",
  permission: "failback.retry",
  audit: "failback.retry",
  call: retry,
});

/** "2030-01-02 03:04[:05] UTC" (seconds only when there are any). */
function utcWords(instant: Date): string {
  const iso = instant.toISOString();
  return `${iso.slice(0, iso.slice(17, 19) === "00" ? 16 : 19).replace("T", " ")} UTC`;
}
