import crypto from "node:crypto";
import { hashPassword } from "@/lib/auth/password";
import type { Db } from "@/lib/db/client";
import { appendAudit } from "@/lib/db/queries/audit";
import { countUsers, insertUser } from "@/lib/db/queries/users";

export interface BootstrapResult {
  email: string;
  /** Only when the password was generated here: it is shown once and never stored in clear. */
  generatedPassword?: string;
}

/** On a database with no users, create the first admin. Does nothing otherwise. */
export async function bootstrapAdmin(
  db: Db,
  options: { email: string; password?: string },
): Promise<BootstrapResult | null> {
  return db.transaction(async (tx) => {
    // Serialise concurrent first starts (two processes on one database) so exactly one admin is made.
    await tx.execute("select pg_advisory_xact_lock(hashtext('failback:bootstrap-admin'))");
    if ((await countUsers(tx)) > 0) return null;
    const generatedPassword = options.password ? undefined : crypto.randomBytes(15).toString("base64url");
    const password = options.password ?? generatedPassword ?? "";
    const user = await insertUser(tx, {
      email: options.email,
      name: "Administrator",
      role: "admin",
      passwordHash: await hashPassword(password),
    });
    if (!user) return null;
    await appendAudit(tx, {
      actorLabel: "system",
      action: "user.bootstrap_admin",
      outcome: "ok",
      targetType: "user",
      targetId: user.id,
      details: { email: user.email, passwordSource: generatedPassword ? "generated" : "FAILBACK_ADMIN_PASSWORD" },
    });
    return { email: user.email, generatedPassword };
  });
}
