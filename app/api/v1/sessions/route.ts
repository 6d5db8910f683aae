// GET /api/v1/sessions — failback sessions, newest first; POST /api/v1/sessions — the catalogue's "start"
// command (the body is the start request: items, quickRollback, switchMode, switchAt, powerOnAfter, …).
import { commandRoute } from "@/lib/api/command-route";
import { queryOf, sessionListQuery } from "@/lib/api/inputs";
import { jsonResponse } from "@/lib/api/json";
import { apiRoute } from "@/lib/api/route";
import { validate } from "@/lib/errors";
import { listSessions } from "@/lib/db/queries/sessions";
import { commandOf } from "@/lib/commands/catalog";

export const dynamic = "force-dynamic";

export const GET = apiRoute({
  operation: "session.list",
  permission: "session.read",
  async run({ request, db }) {
    const filter = validate(sessionListQuery, queryOf(request), "Some of the filters are not valid.");
    return jsonResponse({ sessions: await listSessions(db, filter) });
  },
});

export const POST = commandRoute(commandOf("start"));
