"use server";

import { sessionCommand } from "./session-command";

// Retrying a stopped step is part of operating a running failback; there is no separate permission for it.
const action = sessionCommand({
  name: "failback.retry.request",
  permission: "failback.switch",
  call: (engine, actor, input) => engine.retry(actor, input.sessionId, input.itemId),
});

export async function retryFailbackStep(previous: unknown, raw: unknown) {
  return action(previous, raw);
}
