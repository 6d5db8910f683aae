// Engine commands refuse with AppError, or with the state machine's InvalidTransitionError (code
// INVALID_STATE). Both become AppError here, so the action returns the refusal as a value and its transaction
// — the one holding the action's own audit row — rolls back: a refused command never leaves a success row.
import { AppError } from "@/lib/errors";

export async function engineCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof AppError) throw err;
    if (err instanceof Error && (err as { code?: unknown }).code === "INVALID_STATE")
      throw new AppError("INVALID_STATE", err.message);
    throw err;
  }
}
