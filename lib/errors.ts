// Typed errors shared by server actions, route handlers and the engine: a code a script can rely on,
// a message a person can act on, and field errors for forms.
import type { z } from "zod";

export const errorCodes = [
  "UNAUTHENTICATED",
  "FORBIDDEN",
  "VALIDATION",
  "NOT_FOUND",
  "CONFLICT",
  "INVALID_STATE",
  "THROTTLED",
  /** A worker was needed and none answered in time. */
  "UNAVAILABLE",
  "INTERNAL",
] as const;
export type ErrorCode = (typeof errorCodes)[number];

export type FieldErrors = Record<string, string[]>;

/** zod's verdict as field errors: the messages per field path ("items.0.replicaId"; "_form" for the whole). */
export function fieldErrorsOf(error: z.ZodError): FieldErrors {
  const errors: FieldErrors = {};
  for (const issue of error.issues) (errors[issue.path.join(".") || "_form"] ??= []).push(issue.message);
  return errors;
}

export class AppError extends Error {
  constructor(
    public readonly code: ErrorCode,
    message: string,
    public readonly fieldErrors?: FieldErrors,
  ) {
    super(message);
    this.name = "AppError";
  }
}

/** A value checked against a schema: the parsed value, or a VALIDATION error naming every field at fault. */
export function validate<S extends z.ZodType>(
  schema: S,
  raw: unknown,
  message = "Some of the request's fields are not valid.",
): z.infer<S> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new AppError("VALIDATION", message, fieldErrorsOf(parsed.error));
  return parsed.data;
}

export type ActionResult<T = undefined> =
  { ok: true; data: T; message?: string } | { ok: false; code: ErrorCode; message: string; fieldErrors?: FieldErrors };

/**
 * What an error may say in a log line or an event: its message — never a failed query's text or parameters
 * (a query error's message carries both, and its parameters can be a password hash or a token's). Stack frames
 * are kept for the server log (`withStack`), without the message line the stack starts with.
 */
export function describeError(err: unknown, options: { withStack?: boolean } = {}): string {
  if (!(err instanceof Error)) return String(err);
  const failedQuery = "query" in err && "params" in err;
  const cause = err.cause as { message?: unknown; code?: unknown } | undefined;
  const message = failedQuery
    ? `database query failed${typeof cause?.code === "string" ? ` (${cause.code})` : ""}: ${typeof cause?.message === "string" ? cause.message : "no reason given"}`
    : err.message;
  if (!options.withStack || !err.stack) return message;
  const frames = err.stack.split("\n").filter((line) => /^\s+at /.test(line));
  return [message, ...frames].join("\n");
}
