// The API's route modules, loaded for integration tests after DATABASE_URL points at the run's database (the
// routes read it through lib/config, once, on first use).
import { inject } from "vitest";
import { allCommands } from "@/lib/commands/catalog";
import type { Handler } from "./fixtures";

/** The catalogue's commands on one session (POST /api/v1/sessions/{id}/<name>), by name. */
export const sessionCommandNames = allCommands()
  .filter((command) => command.http?.path.startsWith("/sessions/{sessionId}/"))
  .map((command) => command.name);
export type SessionCommandName =
  "switch-now" | "reschedule" | "cancel-schedule" | "commit" | "undo" | "cancel" | "retry";

export async function loadApiRoutes() {
  process.env.DATABASE_URL = inject("databaseUrl");
  const handler = (h: unknown) => h as Handler;
  const me = await import("@/app/api/v1/me/route");
  const replicas = await import("@/app/api/v1/replicas/route");
  const replica = await import("@/app/api/v1/replicas/[id]/route");
  const sessions = await import("@/app/api/v1/sessions/route");
  const session = await import("@/app/api/v1/sessions/[id]/route");
  const events = await import("@/app/api/v1/sessions/[id]/events/route");
  const actions: Record<SessionCommandName, Handler> = {
    "switch-now": handler((await import("@/app/api/v1/sessions/[id]/switch-now/route")).POST),
    reschedule: handler((await import("@/app/api/v1/sessions/[id]/reschedule/route")).POST),
    "cancel-schedule": handler((await import("@/app/api/v1/sessions/[id]/cancel-schedule/route")).POST),
    commit: handler((await import("@/app/api/v1/sessions/[id]/commit/route")).POST),
    undo: handler((await import("@/app/api/v1/sessions/[id]/undo/route")).POST),
    cancel: handler((await import("@/app/api/v1/sessions/[id]/cancel/route")).POST),
    retry: handler((await import("@/app/api/v1/sessions/[id]/retry/route")).POST),
  };
  return {
    me: handler(me.GET),
    listReplicas: handler(replicas.GET),
    getReplica: handler(replica.GET),
    listSessions: handler(sessions.GET),
    startSession: handler(sessions.POST),
    getSession: handler(session.GET),
    events: handler(events.GET),
    actions,
  };
}

export type ApiRoutes = Awaited<ReturnType<typeof loadApiRoutes>>;

/** Closes what the routes opened in this test process (database pool, job queue, event listener). */
export async function closeApiResources(): Promise<void> {
  const { closeWebQueue } = await import("@/lib/server/engine-instance");
  const { database } = await import("@/lib/db/client");
  await closeWebQueue().catch(() => {});
  const listener = (
    globalThis as unknown as {
      failbackEventListener?: Promise<{ sql: { end(o: { timeout: number }): Promise<void> } }>;
    }
  ).failbackEventListener;
  if (listener) await (await listener.catch(() => null))?.sql.end({ timeout: 1 });
  await database().close();
}
