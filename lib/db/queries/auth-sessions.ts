// Sign-ins as the server records them: the cookie names its row, and the row decides whether the cookie still
// counts (signed out = revoked; past its absolute end = expired).
import { and, eq, gt, isNull, lt, or } from "drizzle-orm";
import type { DbOrTx } from "@/lib/db/client";
import { authSessions, users, type AuthSession, type User } from "@/lib/db/schema";

const uuidShape = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function insertAuthSession(
  db: DbOrTx,
  values: { userId: string; createdAt: Date; expiresAt: Date; clientIp: string; userAgent: string },
): Promise<AuthSession> {
  const [row] = await db.insert(authSessions).values(values).returning();
  if (!row) throw new Error("auth session insert returned nothing");
  return row;
}

/** The sign-in and its user, if it is neither revoked nor expired at `now`. */
export async function findLiveAuthSession(
  db: DbOrTx,
  id: string,
  now: Date,
): Promise<{ session: AuthSession; user: User } | undefined> {
  // Not a uuid: no such row (and no cast error from PostgreSQL).
  if (!uuidShape.test(id)) return undefined;
  const [row] = await db
    .select({ session: authSessions, user: users })
    .from(authSessions)
    .innerJoin(users, eq(users.id, authSessions.userId))
    .where(and(eq(authSessions.id, id), isNull(authSessions.revokedAt), gt(authSessions.expiresAt, now)));
  return row;
}

/** Ends a sign-in; true if it was still unrevoked (signing out twice changes nothing). */
export async function revokeAuthSession(db: DbOrTx, id: string, now: Date = new Date()): Promise<boolean> {
  if (!uuidShape.test(id)) return false;
  const rows = await db
    .update(authSessions)
    .set({ revokedAt: now })
    .where(and(eq(authSessions.id, id), isNull(authSessions.revokedAt)))
    .returning({ id: authSessions.id });
  return rows.length > 0;
}

/** Removes sign-ins that ended (expired or revoked) before `olderThan`: they can never count again. */
export async function pruneAuthSessions(db: DbOrTx, olderThan: Date): Promise<void> {
  await db.delete(authSessions).where(or(lt(authSessions.expiresAt, olderThan), lt(authSessions.revokedAt, olderThan)));
}
