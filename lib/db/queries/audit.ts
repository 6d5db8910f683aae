import { and, desc, eq, ilike, lt, or, type SQL } from "drizzle-orm";
import type { DbOrTx } from "@/lib/db/client";
import { auditLog, type AuditEntry } from "@/lib/db/schema";
import { withoutControlCharacters } from "@/lib/validation/text";

export type NewAuditEntry = typeof auditLog.$inferInsert;

/**
 * Appends an entry. Its text comes partly from requests (a target id as given, a user agent), so control
 * characters are dropped first: PostgreSQL refuses NUL in text and JSON, and a refusal must never fail to be
 * recorded because of what the refused request contained.
 */
export async function appendAudit(db: DbOrTx, entry: NewAuditEntry): Promise<void> {
  await db.insert(auditLog).values(cleaned(entry));
}

/** The entry with control characters dropped from every string in it, line breaks kept (a reason may have some). */
function cleaned<T>(value: T): T {
  if (typeof value === "string") return withoutControlCharacters(value, true) as T;
  if (Array.isArray(value)) return value.map(cleaned) as T;
  if (value && typeof value === "object" && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [cleaned(key), cleaned(item)])) as T;
  }
  return value;
}

export interface AuditFilter {
  outcome?: AuditEntry["outcome"];
  text?: string;
  /** Keyset pagination: entries older than this id. */
  before?: number;
  limit?: number;
}

export async function listAudit(db: DbOrTx, filter: AuditFilter = {}): Promise<AuditEntry[]> {
  const where: SQL[] = [];
  if (filter.outcome) where.push(eq(auditLog.outcome, filter.outcome));
  if (filter.before) where.push(lt(auditLog.id, filter.before));
  if (filter.text) {
    const pattern = `%${filter.text.replace(/[%_\\]/g, "\\$&")}%`;
    const match = or(
      ilike(auditLog.action, pattern),
      ilike(auditLog.actorLabel, pattern),
      ilike(auditLog.targetId, pattern),
    );
    if (match) where.push(match);
  }
  return db
    .select()
    .from(auditLog)
    .where(where.length ? and(...where) : undefined)
    .orderBy(desc(auditLog.id))
    .limit(Math.min(filter.limit ?? 100, 500));
}
