// Errors the data plane raises on purpose.
import type { Region } from "@/lib/providers/types";

/**
 * What was written into the target did not read back the same, even after one rewrite: the target storage (or
 * the path to it) is corrupting data. The range is not checkpointed, so nothing unverified counts as done.
 */
export class ReadBackMismatchError extends Error {
  override readonly name = "ReadBackMismatchError";

  constructor(
    readonly region: Region,
    /** Every region of the range that failed, the first of which is `region`. */
    readonly regions: Region[] = [region],
  ) {
    super(
      `read-back mismatch after rewrite at ${region.offset}+${region.length}` +
        (regions.length > 1 ? ` (and ${regions.length - 1} more region(s) in the same range)` : "") +
        ": the target does not keep what is written to it",
    );
  }
}

/** The same error fetch() and friends reject with, so callers can test `err.name === "AbortError"`. */
export function abortError(signal: AbortSignal): DOMException {
  const reason: unknown = signal.reason;
  const detail = reason instanceof Error && reason.name !== "AbortError" ? `: ${reason.message}` : "";
  return new DOMException(`the sync was aborted${detail}`, "AbortError");
}
