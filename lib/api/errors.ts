// Every refusal of the API, in one shape: {error: {code, message, fieldErrors?}} with the HTTP status its code
// implies. Typed errors are AppErrors, wherever they come from (the API layer, a command, the state machine);
// anything else is a server fault, logged here and answered without details.
import { AppError, describeError, type ErrorCode, type FieldErrors } from "@/lib/errors";
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

export function responseForError(err: unknown, operation: string): Response {
  // Every typed refusal — the API's, a command's, the state machine's (InvalidTransitionError) — is an AppError.
  if (err instanceof AppError) return errorResponse(err.code, err.message, err.fieldErrors);
  console.error(`[api ${operation}] ${describeError(err, { withStack: true })}`);
  return errorResponse("INTERNAL", "Something went wrong on the server; it has been logged.");
}
