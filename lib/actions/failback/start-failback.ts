"use server";

import { defineAction } from "@/lib/actions/define-action";
import { startFailbackSchema } from "@/lib/engine";
import { engine, engineActorOf } from "@/lib/server/engine-instance";
import { engineCall } from "./engine-call";
import { revalidateSessionPages } from "./revalidate";

const action = defineAction({
  name: "failback.start.request",
  permission: "failback.start",
  input: startFailbackSchema,
  async run({ actor, input, audit }) {
    // The engine validates and pre-flights again inside start: what was reviewed may have changed since.
    const started = await engineCall(() => engine().start(engineActorOf(actor), input));
    audit({
      targetType: "failback_session",
      targetId: started.sessionId,
      reason: input.reason || undefined,
      details: { via: "dashboard", replicas: input.items.map((i) => i.replicaId), switchMode: input.switchMode },
    });
    return { sessionId: started.sessionId };
  },
  successMessage: () => "Failback started.",
});

export async function startFailback(previous: unknown, raw: unknown) {
  const result = await action(previous, raw);
  if (result.ok) revalidateSessionPages(result.data.sessionId);
  return result;
}
