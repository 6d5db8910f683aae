// Turning zod's verdict into the API's typed VALIDATION error, with a list of messages per field path.
import { z } from "zod";
import { AppError, fieldErrorsOf } from "@/lib/errors";

export function validate<S extends z.ZodType>(
  schema: S,
  raw: unknown,
  message = "Some of the request's fields are not valid.",
): z.infer<S> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new AppError("VALIDATION", message, fieldErrorsOf(parsed.error));
  return parsed.data;
}

const uuidSchema = z.uuid();

/**
 * An id from the URL path. Something that is not an id names nothing, so it is NOT_FOUND, exactly like a
 * well-formed id of nothing — and it never reaches PostgreSQL, which would fail on the cast.
 */
export function pathId(value: string | undefined, what: string): string {
  if (value === undefined || !uuidSchema.safeParse(value).success) throw new AppError("NOT_FOUND", `No such ${what}.`);
  return value.toLowerCase();
}
