// The switch schedule's commands: change the switch time, cancel the schedule (the session then switches
// manually). Legality comes from lib/engine/legality.ts; the catalogue adds the audit row and the nudge.
import { and, eq } from "drizzle-orm";
import type { Tx } from "@/lib/db/client";
import { failbackSessions, switchSchedules } from "@/lib/db/schema";
import { AppError } from "@/lib/errors";
import { appendEvent } from "@/lib/events/events";
import { scheduleAllows, type ScheduleCommand } from "../legality";
import { resolveSwitchTime, switchTimeErrorField } from "../switch-time";
import { InvalidTransitionError } from "../transitions";
import type { EngineActor } from "../types";
import type { CommandResult } from "./item-commands";
import { lockSession } from "./locking";

export interface ChangeSwitchTimeInput {
  sessionId: string;
  /** A wall-clock time, YYYY-MM-DDTHH:mm, in `timeZone`. */
  local: string;
  timeZone: string;
}

/** Locks the session and its pending schedule, or refuses with why the command does not apply. */
async function lockSchedule(tx: Tx, sessionId: string, command: ScheduleCommand) {
  const { session, items } = await lockSession(tx, sessionId);
  const [schedule] = await tx
    .select()
    .from(switchSchedules)
    .where(and(eq(switchSchedules.sessionId, sessionId), eq(switchSchedules.state, "pending")))
    .for("update");
  if (!scheduleAllows(session, schedule ?? null, items, command)) {
    if (session.switchMode !== "scheduled") {
      throw new InvalidTransitionError(`This session has no switch schedule (it switches ${session.switchMode}).`);
    }
    if (!schedule) throw new InvalidTransitionError("The scheduled switch has already started or was cancelled.");
    throw new InvalidTransitionError("No VM of this session is waiting to switch.");
  }
  return { session, schedule: schedule as NonNullable<typeof schedule> };
}

export async function changeSwitchTime(
  tx: Tx,
  actor: EngineActor,
  input: ChangeSwitchTimeInput,
  now = new Date(),
): Promise<CommandResult> {
  const resolved = resolveSwitchTime(input.local, input.timeZone, now);
  if (!resolved.ok) {
    throw new AppError("VALIDATION", resolved.error.message, {
      [switchTimeErrorField(resolved.error)]: [resolved.error.message],
    });
  }
  const { schedule } = await lockSchedule(tx, input.sessionId, "change_switch_time");
  await tx
    .update(switchSchedules)
    .set({ runAt: resolved.instant, timeZone: input.timeZone, updatedAt: new Date() })
    .where(eq(switchSchedules.id, schedule.id));
  await appendEvent(tx, {
    sessionId: input.sessionId,
    type: "schedule.changed",
    payload: {
      by: actor.label,
      from: schedule.runAt.toISOString(),
      to: resolved.instant.toISOString(),
      timeZone: input.timeZone,
    },
  });
  return {
    sessionId: input.sessionId,
    itemIds: [],
    message: "Switch time changed.",
    schedule: { id: schedule.id, runAt: resolved.instant },
  };
}

export async function cancelSchedule(
  tx: Tx,
  actor: EngineActor,
  input: { sessionId: string },
): Promise<CommandResult & { cancelledRunAt: Date }> {
  const { schedule } = await lockSchedule(tx, input.sessionId, "cancel_schedule");
  await tx
    .update(switchSchedules)
    .set({ state: "cancelled", updatedAt: new Date() })
    .where(eq(switchSchedules.id, schedule.id));
  await tx
    .update(failbackSessions)
    .set({ switchMode: "manual", updatedAt: new Date() })
    .where(eq(failbackSessions.id, input.sessionId));
  await appendEvent(tx, {
    sessionId: input.sessionId,
    type: "schedule.cancelled",
    payload: { by: actor.label, runAt: schedule.runAt.toISOString() },
  });
  return {
    sessionId: input.sessionId,
    itemIds: [],
    message: "Schedule cancelled: switch each VM with Switch now.",
    cancelledRunAt: schedule.runAt,
  };
}
