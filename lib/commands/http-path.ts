// A command's API path template (`/sessions/{sessionId}/commit`): which input fields it carries, and their values
// in a request's path. Shared by the API's routes, the OpenAPI document and the command line.
export const apiPrefix = "/api/v1";

/** The names of the `{field}`s of a path template, in order. */
export function pathFieldsOf(template: string): string[] {
  return [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);
}

/** The values of a template's fields in a request's path (the route already matched, so the shape fits). */
export function pathValues(template: string, pathname: string): Record<string, string> {
  const fields = pathFieldsOf(template);
  const pattern = new RegExp(`^${apiPrefix}${template.replace(/\{\w+\}/g, "([^/]+)")}/?$`);
  const match = pattern.exec(pathname);
  const values: Record<string, string> = {};
  fields.forEach((field, i) => {
    const raw = match?.[i + 1];
    if (raw !== undefined) values[field] = decodeURIComponent(raw).toLowerCase();
  });
  return values;
}

/** The path of a command's route with its fields filled in, under /api/v1. */
export function fillPath(template: string, values: readonly string[]): string {
  let i = 0;
  return apiPrefix + template.replace(/\{\w+\}/g, () => encodeURIComponent(values[i++] ?? ""));
}
