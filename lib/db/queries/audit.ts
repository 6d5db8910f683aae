import { and, desc, eq, ilike, lt, or, type SQL } from "drizzle-orm";
import type { DbOrTx } from "@/lib/db/client";
import { auditLog, type AuditEntry } from "@/lib/db/schema";

export type NewAuditEntry = typeof auditLog.$inferInsert;

export async function appendAudit(db: DbOrTx, entry: NewAuditEntry): Promise<void> {
  await db.insert(auditLog).values(entry);
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
