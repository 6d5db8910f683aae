// Every refusal of the API, in one shape: {error: {code, message, fieldErrors?}} with the HTTP status its code
// implies. Typed errors come from the API layer (AppError) and the engine (AppError, or an invalid transition
// carrying code INVALID_STATE); anything else is a server fault, logged here and answered without details.
import { AppError, errorCodes, type ErrorCode, type FieldErrors } from "@/lib/errors";
import { jsonResponse } from "./json";

export const statusOfCode: Record<ErrorCode, number> = {
  VALIDATION: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  INVALID_STATE: 409,
  THROTTLED: 429,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

export function errorResponse(code: ErrorCode, message: string, fieldErrors?: FieldErrors): Response {
  const headers: Record<string, string> = {};
  if (code === "UNAUTHENTICATED") headers["WWW-Authenticate"] = 'Bearer realm="failback"';
  if (code === "THROTTLED") headers["Retry-After"] = "60";
  const body = { error: { code, message, ...(fieldErrors && Object.keys(fieldErrors).length ? { fieldErrors } : {}) } };
  return jsonResponse(body, statusOfCode[code], headers);
}

/** An error a caller can act on: our AppError, or any error whose `code` is one of ours (the engine's). */
function typedErrorOf(err: unknown): { code: ErrorCode; message: string; fieldErrors?: FieldErrors } | null {
  if (err instanceof AppError) return err;
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === "string" && (errorCodes as readonly string[]).includes(code))
      return { code: code as ErrorCode, message: err.message };
  }
  return null;
}

export function responseForError(err: unknown, operation: string): Response {
  const typed = typedErrorOf(err);
  if (typed) return errorResponse(typed.code, typed.message, typed.fieldErrors);
  console.error(`[api ${operation}]`, err);
  return errorResponse("INTERNAL", "Something went wrong on the server; it has been logged.");
}
