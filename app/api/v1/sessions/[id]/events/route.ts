// GET /api/v1/sessions/{id}/events — the session's events as server-sent events: a replay after Last-Event-ID
// (or ?after=), then live; the stream closes when the caller stops being allowed (token revoked, user
// disabled or downgraded). With ?format=json&after=N&limit=M: one page of events as JSON instead.
import { queryOf, eventsQuery } from "@/lib/api/inputs";
import { stillAllowed } from "@/lib/api/authorize";
import { jsonResponse } from "@/lib/api/json";
import { apiRoute } from "@/lib/api/route";
import { sessionTarget } from "@/lib/api/targets";
import { pathId } from "@/lib/api/validation";
import { getSessionDetail } from "@/lib/db/queries/sessions";
import { AppError, validate } from "@/lib/errors";
import { eventsAfter } from "@/lib/events/events";
import { lastEventIdOf, sessionEventStream, sseResponse } from "@/lib/events/stream";

export const dynamic = "force-dynamic";

export const GET = apiRoute<{ id: string }>({
  operation: "session.read",
  permission: "session.read",
  target: sessionTarget,
  async run({ request, principal, params, db }) {
    const sessionId = pathId(params.id, "failback session");
    const query = validate(eventsQuery, queryOf(request), "Some of the query parameters are not valid.");
    if (!(await getSessionDetail(db, sessionId))) throw new AppError("NOT_FOUND", "No such failback session.");
    if (query.format === "json") {
      const after = query.after ?? 0;
      const limit = query.limit ?? 100;
      const events = await eventsAfter(db, sessionId, after, limit);
      return jsonResponse({ events, nextAfter: events.at(-1)?.id ?? after, more: events.length === limit });
    }
    const stream = sessionEventStream({
      sessionId,
      afterId: lastEventIdOf(request),
      signal: request.signal,
      stillAllowed: () => stillAllowed(db, principal, "session.read"),
    });
    return sseResponse(stream);
  },
});
