"use server";

import { sessionCommand } from "./session-command";

const action = sessionCommand({
  name: "failback.cancel.request",
  permission: "failback.cancel",
  call: (engine, actor, input) => engine.cancel(actor, input.sessionId, input.itemId),
});

export async function cancelFailback(previous: unknown, raw: unknown) {
  return action(previous, raw);
}
