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

export type ActionResult<T = undefined> =
  { ok: true; data: T; message?: string } | { ok: false; code: ErrorCode; message: string; fieldErrors?: FieldErrors };
