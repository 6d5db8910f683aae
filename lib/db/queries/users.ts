import { and, asc, count, eq, isNull, sql } from "drizzle-orm";
import type { DbOrTx } from "@/lib/db/client";
import { users, type User, type UserRole } from "@/lib/db/schema";

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export async function findUserByEmail(db: DbOrTx, email: string): Promise<User | undefined> {
  const [user] = await db
    .select()
    .from(users)
    .where(eq(users.email, normalizeEmail(email)));
  return user;
}

export async function findUserById(db: DbOrTx, id: string): Promise<User | undefined> {
  const [user] = await db.select().from(users).where(eq(users.id, id));
  return user;
}

export async function listUsers(db: DbOrTx): Promise<User[]> {
  return db.select().from(users).orderBy(asc(users.email));
}

export async function countUsers(db: DbOrTx): Promise<number> {
  const [row] = await db.select({ n: count() }).from(users);
  return row?.n ?? 0;
}

export async function countActiveAdmins(db: DbOrTx): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(users)
    .where(and(eq(users.role, "admin"), isNull(users.disabledAt)));
  return row?.n ?? 0;
}

export async function insertUser(
  db: DbOrTx,
  values: { email: string; name: string; role: UserRole; passwordHash: string },
): Promise<User | undefined> {
  const [user] = await db
    .insert(users)
    .values({ ...values, email: normalizeEmail(values.email) })
    .onConflictDoNothing()
    .returning();
  return user;
}

/**
 * Role is read from the database on every request, so a role change needs nothing more. Disabling (or
 * re-enabling) bumps the session version: tokens issued before it stop working even after re-enabling.
 */
export async function updateUserAccess(
  db: DbOrTx,
  id: string,
  change: { role?: UserRole; disabled?: boolean },
): Promise<User | undefined> {
  const [user] = await db
    .update(users)
    .set({
      ...(change.role ? { role: change.role } : {}),
      ...(change.disabled === undefined ? {} : { disabledAt: change.disabled ? new Date() : null }),
      ...(change.disabled === undefined ? {} : { sessionVersion: sql`${users.sessionVersion} + 1` }),
      updatedAt: new Date(),
    })
    .where(eq(users.id, id))
    .returning();
  return user;
}

export async function markSignedIn(db: DbOrTx, id: string): Promise<void> {
  await db.update(users).set({ lastSignInAt: new Date() }).where(eq(users.id, id));
}
