"use server";

import { sessionCommand } from "./session-command";

const action = sessionCommand({
  name: "failback.switch_now.request",
  permission: "failback.switch",
  call: (engine, actor, input) => engine.switchNow(actor, input.sessionId, input.itemId),
});

export async function switchNow(previous: unknown, raw: unknown) {
  return action(previous, raw);
}
