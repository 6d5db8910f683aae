// An /api/v1 route for a command of the catalogue: the route file is one line (`export const POST =
// commandRoute(catalog.commit)`), and everything else comes from the entry — the permission apiRoute checks
// (a denial audited under the command's audit action), the input (path fields from the URL, the rest from the
// JSON body), the audit row and the answer. A path id that does not parse names nothing: NOT_FOUND.
import "server-only";
import { commandActorOf, type AnyCommand } from "@/lib/commands/define";
import { executeCommand } from "@/lib/commands/execute";
import { pathFieldsOf, pathValues } from "@/lib/commands/http-path";
import { AppError } from "@/lib/errors";
import { webNudger, webServices } from "@/lib/server/engine-instance";
import { readJsonBody } from "./body";
import { jsonResponse } from "./json";
import { apiRoute, type RouteHandler } from "./route";

const what: Record<AnyCommand["target"], string> = {
  failback_session: "failback session",
  replica: "replica",
  user: "user",
  api_token: "API token",
};

export function commandRoute(command: AnyCommand): RouteHandler<Record<string, string>> {
  const http = command.http;
  if (!http) throw new Error(`command ${command.name} has no API route`);
  const fields = pathFieldsOf(http.path);
  return apiRoute({
    operation: command.audit,
    permission: command.permission,
    target: (params) => {
      const id = Object.values(params)[0];
      return id ? { type: command.target, id } : undefined;
    },
    async run({ request, principal, db }) {
      const path = pathValues(http.path, new URL(request.url).pathname);
      const body = await readJsonBody(request, { optional: true });
      try {
        const { result } = await executeCommand(
          command,
          { ...body, ...path },
          {
            db,
            actor: commandActorOf(principal),
            via: "api",
            services: webServices(),
            nudger: webNudger(),
          },
        );
        if (http.created) return jsonResponse(result, 201, { Location: http.created(result as never) });
        return jsonResponse(result);
      } catch (err) {
        const badPathField = err instanceof AppError && fields.some((field) => err.fieldErrors?.[field]);
        if (badPathField) throw new AppError("NOT_FOUND", `No such ${what[command.target]}.`);
        throw err;
      }
    },
  });
}
