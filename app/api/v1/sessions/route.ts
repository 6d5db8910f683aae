// GET /api/v1/sessions — failback sessions, newest first; POST /api/v1/sessions — start a failback (the body
// is the engine's start request: items, quickRollback, switchMode, switchAt, powerOnAfter, …).
import { readJsonBody } from "@/lib/api/body";
import { queryOf, sessionListQuery } from "@/lib/api/inputs";
import { jsonResponse } from "@/lib/api/json";
import { engineActorOf } from "@/lib/api/principal";
import { apiRoute } from "@/lib/api/route";
import { validate } from "@/lib/api/validation";
import { listSessions } from "@/lib/db/queries/sessions";
import { engine } from "@/lib/server/engine-instance";

export const dynamic = "force-dynamic";

export const GET = apiRoute({
  operation: "session.list",
  permission: "session.read",
  async run({ request, db }) {
    const filter = validate(sessionListQuery, queryOf(request), "Some of the filters are not valid.");
    return jsonResponse({ sessions: await listSessions(db, filter) });
  },
});

export const POST = apiRoute({
  operation: "failback.start",
  permission: "failback.start",
  async run({ request, principal }) {
    const body = await readJsonBody(request);
    // The engine validates (typed field errors), pre-flights every replica, then writes and audits.
    const started = await engine().start(engineActorOf(principal), body);
    return jsonResponse(started, 201, { Location: `/api/v1/sessions/${started.sessionId}` });
  },
});
