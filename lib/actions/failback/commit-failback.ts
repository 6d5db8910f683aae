"use server";

import { sessionCommand } from "./session-command";

const action = sessionCommand({
  name: "failback.commit.request",
  permission: "failback.commit",
  call: (engine, actor, input) => engine.commit(actor, input.sessionId, input.itemId),
});

export async function commitFailback(previous: unknown, raw: unknown) {
  return action(previous, raw);
}
