"use server";

import { sessionCommand } from "./session-command";

const action = sessionCommand({
  name: "failback.schedule.cancel.request",
  permission: "schedule.write",
  call: (engine, actor, input) => engine.cancelSchedule(actor, input.sessionId),
});

export async function cancelSchedule(previous: unknown, raw: unknown) {
  return action(previous, raw);
}
