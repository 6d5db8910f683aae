// The query strings the API's read routes accept (lists and event pages). Commands' bodies are the catalogue's
// input schemas (lib/commands).
import { z } from "zod";
import { singleLine } from "@/lib/validation/text";
import { itemStates, replicaStates } from "@/lib/db/schema";

const text = (max: number) => singleLine(max).trim();
const flag = z.enum(["true", "false"], { error: "Use true or false." }).transform((v) => v === "true");

export const replicaListQuery = z.object({
  state: z.enum(replicaStates, { error: `One of: ${replicaStates.join(", ")}.` }).optional(),
  /** A site's name, matched on either side (where the source VM runs, or where its replica does). */
  site: text(200).optional(),
  /** Part of the VM's name, case-insensitive. */
  name: text(200).optional(),
});

export const sessionListQuery = z.object({
  state: z.enum(itemStates, { error: `One of: ${itemStates.join(", ")}.` }).optional(),
  live: flag.optional(),
  limit: z.coerce.number({ error: "A whole number." }).int("A whole number.").min(1).max(500).optional(),
  offset: z.coerce.number({ error: "A whole number." }).int("A whole number.").min(0).max(1_000_000).optional(),
});

export const eventsQuery = z.object({
  format: z.enum(["sse", "json"], { error: "Use sse or json." }).optional(),
  after: z.coerce.number({ error: "An event id." }).int("An event id.").min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  limit: z.coerce.number({ error: "A whole number." }).int("A whole number.").min(1).max(500).optional(),
});

/** A request's query string as an object (the first value of a repeated key; no prototype to pollute). */
export function queryOf(request: Request): Record<string, string> {
  const query: Record<string, string> = Object.create(null);
  for (const [key, value] of new URL(request.url).searchParams) if (!(key in query)) query[key] = value;
  return query;
}
