// The building blocks of the OpenAPI document: references, common shapes, one operation's description with its
// permission and error answers.
import type { errorCodes } from "@/lib/errors";
import { statusOfCode } from "../errors";

export type Json = Record<string, unknown>;
export type ErrorCodeName = (typeof errorCodes)[number];

export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
export const jsonContent = (schema: Json) => ({ "application/json": { schema } });
export const uuid = { type: "string", format: "uuid" };
export const dateTime = { type: "string", format: "date-time" };
export const nullable = (schema: Json) => ({ oneOf: [schema, { type: "null" }] });

export function errorResponses(...codes: ErrorCodeName[]): Json {
  const responses: Json = {};
  for (const code of ["UNAUTHENTICATED", ...codes] as const) {
    const status = String(statusOfCode[code]);
    const known = (responses[status] as { description: string } | undefined)?.description;
    responses[status] = { description: known ? `${known} or ${code}` : code, content: jsonContent(ref("Error")) };
  }
  return responses;
}

export const idParameter = (description: string) => ({
  name: "id",
  in: "path",
  required: true,
  description,
  schema: uuid,
});

export function operation(spec: {
  summary: string;
  permission: string | null;
  description?: string;
  parameters?: Json[];
  body?: Json;
  bodyRequired?: boolean;
  ok: Json;
  okStatus?: string;
  errors: ErrorCodeName[];
  /** Extra fields of the operation (x-audit-action, …). */
  extra?: Json;
}): Json {
  return {
    summary: spec.summary,
    description: [
      spec.description,
      spec.permission ? `Needs the permission \`${spec.permission}\`.` : "Any signed-in caller.",
    ]
      .filter(Boolean)
      .join(" "),
    ...(spec.permission ? { "x-permission": spec.permission } : {}),
    ...spec.extra,
    ...(spec.parameters ? { parameters: spec.parameters } : {}),
    ...(spec.body ? { requestBody: { required: spec.bodyRequired ?? true, content: jsonContent(spec.body) } } : {}),
    responses: {
      [spec.okStatus ?? "200"]: { description: "OK", content: jsonContent(spec.ok) },
      ...errorResponses(...spec.errors),
    },
  };
}
