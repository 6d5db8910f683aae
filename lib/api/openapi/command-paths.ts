// The API's command routes, described from the catalogue: summary, permission, audit action, path parameters,
// the request body (the command's own input schema less its path fields) and the answer.
import { z } from "zod";
import { allCommands } from "@/lib/commands/catalog";
import type { AnyCommand } from "@/lib/commands/define";
import { pathFieldsOf } from "@/lib/commands/http-path";
import { operation, ref, uuid, type Json } from "./building-blocks";

/** The JSON body a command accepts: its input schema as JSON Schema, without the fields the path carries. */
function bodySchema(command: AnyCommand, pathFields: string[]): { schema: Json; required: boolean } {
  const schema = z.toJSONSchema(command.input, { io: "input", unrepresentable: "any" }) as Json & {
    properties?: Record<string, Json>;
    required?: string[];
  };
  delete schema.$schema;
  for (const field of pathFields) delete schema.properties?.[field];
  schema.required = schema.required?.filter((field) => !pathFields.includes(field));
  if (!schema.required?.length) delete schema.required;
  return { schema, required: Boolean(schema.required?.length) };
}

function commandOperation(command: AnyCommand): Json {
  const http = command.http as NonNullable<AnyCommand["http"]>;
  const pathFields = pathFieldsOf(http.path);
  const body = bodySchema(command, pathFields);
  return operation({
    summary: command.summary,
    description: `The command \`${command.name}\`; audited as \`${command.audit}\`.`,
    permission: command.permission,
    parameters: pathFields.map((name) => ({ name, in: "path", required: true, schema: uuid })),
    body: body.schema,
    bodyRequired: body.required,
    ok: ref(http.response),
    okStatus: http.created ? "201" : "200",
    errors: ["VALIDATION", "FORBIDDEN", "NOT_FOUND", "CONFLICT", "INVALID_STATE", "THROTTLED", "UNAVAILABLE"],
    extra: { "x-audit-action": command.audit, "x-command": command.name },
  });
}

/** `/api/v1/…` path → method → operation, for every command with an API route. */
export function commandPaths(): Record<string, Record<string, Json>> {
  const paths: Record<string, Record<string, Json>> = {};
  for (const command of allCommands()) {
    if (!command.http) continue;
    const path = `/api/v1${command.http.path}`;
    paths[path] = { ...paths[path], [command.http.method.toLowerCase()]: commandOperation(command) };
  }
  return paths;
}
