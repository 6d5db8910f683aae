import type postgres from "postgres";
import { hashPassword } from "../../lib/auth/password";

/** A user made straight in the database (the users page has its own test). */
export async function createUser(
  sql: postgres.Sql,
  user: { email: string; role: "admin" | "operator" | "viewer"; password: string; name?: string },
): Promise<void> {
  const hash = await hashPassword(user.password);
  await sql`insert into users (email, name, role, password_hash) values (${user.email.toLowerCase()}, ${user.name ?? user.email}, ${user.role}, ${hash})
            on conflict (email) do nothing`;
}
