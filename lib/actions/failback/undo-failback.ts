"use server";

import { sessionCommand } from "./session-command";

const action = sessionCommand({
  name: "failback.undo.request",
  permission: "failback.undo",
  call: (engine, actor, input) => engine.undo(actor, input.sessionId, input.itemId),
});

export async function undoFailback(previous: unknown, raw: unknown) {
  return action(previous, raw);
}
