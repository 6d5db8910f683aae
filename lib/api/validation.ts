// Ids from the API's paths. (Checking a body or a query against a schema is `validate` in lib/errors.ts.)
import { z } from "zod";
import { AppError } from "@/lib/errors";

const uuidSchema = z.uuid();

/**
 * An id from the URL path. Something that is not an id names nothing, so it is NOT_FOUND, exactly like a
 * well-formed id of nothing — and it never reaches PostgreSQL, which would fail on the cast.
 */
export function pathId(value: string | undefined, what: string): string {
  if (value === undefined || !uuidSchema.safeParse(value).success) throw new AppError("NOT_FOUND", `No such ${what}.`);
  return value.toLowerCase();
}
