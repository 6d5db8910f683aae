// Errors of the command line, each with the exit code scripts rely on:
// 0 done · 1 other · 2 usage · 3 unauthenticated/forbidden · 4 not found · 5 invalid state/conflict · 6 validation.
import type { ErrorCode, FieldErrors } from "@/lib/errors";

/** The API's codes, plus what only the command line can run into. */
export type CliErrorCode = ErrorCode | "USAGE" | "NETWORK" | "TIMEOUT";

export const exitCodes = { done: 0, other: 1, usage: 2, auth: 3, notFound: 4, state: 5, validation: 6 } as const;

const exitCodeByError: Record<CliErrorCode, number> = {
  USAGE: exitCodes.usage,
  UNAUTHENTICATED: exitCodes.auth,
  FORBIDDEN: exitCodes.auth,
  NOT_FOUND: exitCodes.notFound,
  INVALID_STATE: exitCodes.state,
  CONFLICT: exitCodes.state,
  VALIDATION: exitCodes.validation,
  THROTTLED: exitCodes.other,
  UNAVAILABLE: exitCodes.other,
  INTERNAL: exitCodes.other,
  NETWORK: exitCodes.other,
  TIMEOUT: exitCodes.other,
};

export class CliError extends Error {
  constructor(
    public readonly code: CliErrorCode,
    message: string,
    public readonly fieldErrors?: FieldErrors,
  ) {
    super(message);
    this.name = "CliError";
  }

  get exitCode(): number {
    // A code this version does not know (a newer server) is still an error.
    return exitCodeByError[this.code] ?? exitCodes.other;
  }
}

export const usageError = (message: string) => new CliError("USAGE", message);
