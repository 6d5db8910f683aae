// The session actions of the API (POST /api/v1/sessions/{id}/<action>): one table mapping each to its
// permission (the server actions' names), its audit operation (the engine's own audit action) and its engine
// command. The engine validates the move, audits it and nudges the workers; nothing here writes.
import type { Permission } from "@/lib/auth/permissions";
import type { CommandResult, Engine, EngineActor } from "@/lib/engine";
import { engine } from "@/lib/server/engine-instance";
import { readJsonBody } from "./body";
import { emptyBody, itemActionBody, rescheduleBody } from "./inputs";
import { jsonResponse } from "./json";
import { engineActorOf } from "./principal";
import { apiRoute } from "./route";
import { sessionTarget } from "./targets";
import { pathId, validate } from "./validation";

interface SessionAction {
  operation: string;
  permission: Permission;
  /** Reschedule needs a body; the others take an optional {itemId}. */
  bodyRequired: boolean;
  run: (engine: Engine, actor: EngineActor, sessionId: string, body: Record<string, unknown>) => Promise<CommandResult>;
}

const itemIdOf = (body: Record<string, unknown>) => validate(itemActionBody, body).itemId;

export const sessionActions = {
  "switch-now": {
    operation: "failback.switch_now",
    permission: "failback.switch",
    bodyRequired: false,
    run: (e, a, id, body) => e.switchNow(a, id, itemIdOf(body)),
  },
  reschedule: {
    operation: "failback.schedule.change",
    permission: "schedule.write",
    bodyRequired: true,
    run: (e, a, id, body) => {
      const { local, timeZone } = validate(rescheduleBody, body);
      return e.changeSwitchTime(a, id, local, timeZone);
    },
  },
  "cancel-schedule": {
    operation: "failback.schedule.cancel",
    permission: "schedule.write",
    bodyRequired: false,
    run: (e, a, id, body) => {
      validate(emptyBody, body);
      return e.cancelSchedule(a, id);
    },
  },
  commit: {
    operation: "failback.commit",
    permission: "failback.commit",
    bodyRequired: false,
    run: (e, a, id, body) => e.commit(a, id, itemIdOf(body)),
  },
  undo: {
    operation: "failback.undo",
    permission: "failback.undo",
    bodyRequired: false,
    run: (e, a, id, body) => e.undo(a, id, itemIdOf(body)),
  },
  cancel: {
    operation: "failback.cancel",
    permission: "failback.cancel",
    bodyRequired: false,
    run: (e, a, id, body) => e.cancel(a, id, itemIdOf(body)),
  },
  // Retry continues the stopped plan where it failed: the right to start a failback covers running its steps.
  retry: {
    operation: "failback.retry",
    permission: "failback.start",
    bodyRequired: false,
    run: (e, a, id, body) => e.retry(a, id, itemIdOf(body)),
  },
} satisfies Record<string, SessionAction>;

export type SessionActionName = keyof typeof sessionActions;

export function sessionActionRoute(name: SessionActionName) {
  const action: SessionAction = sessionActions[name];
  return apiRoute<{ id: string }>({
    operation: action.operation,
    permission: action.permission,
    target: sessionTarget,
    async run({ request, principal, params }) {
      const sessionId = pathId(params.id, "failback session");
      const body = await readJsonBody(request, { optional: !action.bodyRequired });
      const result = await action.run(engine(), engineActorOf(principal), sessionId, body);
      return jsonResponse(result);
    },
  });
}
