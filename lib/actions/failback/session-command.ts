// The shape shared by the session commands (switch now, commit, undo, cancel, retry): a session, optionally one
// VM of it. Each command's own file names its permission and the engine call.
import { z } from "zod";
import { defineAction } from "@/lib/actions/define-action";
import type { Actor } from "@/lib/auth/actor";
import type { Permission } from "@/lib/auth/permissions";
import type { CommandResult, Engine, EngineActor } from "@/lib/engine";
import { engine, engineActorOf } from "@/lib/server/engine-instance";
import { engineCall } from "./engine-call";
import { revalidateSessionPages } from "./revalidate";

export const sessionCommandInput = z.object({
  sessionId: z.uuid({ error: "Unknown failback session." }),
  // Forms send "" for "the whole session".
  itemId: z.preprocess((v) => (v === "" || v === null ? undefined : v), z.uuid({ error: "Unknown VM." }).optional()),
});
export type SessionCommandInput = z.infer<typeof sessionCommandInput>;

export function sessionCommand(spec: {
  /** The audit name of the request (the engine audits the command itself under its own name). */
  name: string;
  permission: Permission;
  call: (engine: Engine, actor: EngineActor, input: SessionCommandInput) => Promise<CommandResult>;
}) {
  const action = defineAction({
    name: spec.name,
    permission: spec.permission,
    input: sessionCommandInput,
    async run({
      actor,
      input,
      audit,
    }: {
      actor: Actor;
      input: SessionCommandInput;
      audit: (e: { targetType?: string; targetId?: string; details?: Record<string, unknown> }) => void;
    }) {
      const result = await engineCall(() => spec.call(engine(), engineActorOf(actor), input));
      audit({
        targetType: "failback_session",
        targetId: input.sessionId,
        details: { via: "dashboard", itemId: input.itemId ?? null, items: result.itemIds },
      });
      return { sessionId: result.sessionId, message: result.message };
    },
    successMessage: (data) => data.message,
  });
  return async (previous: unknown, raw: unknown) => {
    const result = await action(previous, raw);
    if (result.ok) revalidateSessionPages(result.data.sessionId);
    return result;
  };
}
