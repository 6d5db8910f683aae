import { afterAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { connect } from "@/lib/db/client";
import { createTestDatabase } from "@/lib/testing/test-database";
import { verifyPassword } from "@/lib/auth/password";
import { findUserByEmail } from "@/lib/db/queries/users";
import { bootstrapAdmin } from "./bootstrap-admin";

// Needs an empty users table, so it makes a database of its own next to the run's.
const fresh = await createTestDatabase("failback_bootstrap");
const database = connect(fresh.url);
afterAll(async () => {
  await database.close();
  await fresh.drop();
});

describe("first admin", () => {
  it("is created once, with a generated password when none is configured", async () => {
    expect(inject("databaseUrl")).not.toBe(fresh.url);
    const [a, b] = await Promise.all([
      bootstrapAdmin(database.db, { email: "Root@Example.test" }),
      bootstrapAdmin(database.db, { email: "root@example.test" }),
    ]);
    const made = [a, b].filter(Boolean);
    expect(made).toHaveLength(1);
    const password = made[0]?.generatedPassword ?? "";
    expect(password.length).toBeGreaterThanOrEqual(16);
    const user = await findUserByEmail(database.db, "root@example.test");
    expect(user?.role).toBe("admin");
    expect(await verifyPassword(user?.passwordHash ?? "", password)).toBe(true);
    expect(
      await bootstrapAdmin(database.db, { email: "other@example.test", password: "configured-password" }),
    ).toBeNull();
    const [audit] = await database.sql`select details from audit_log where action = 'user.bootstrap_admin'`;
    expect(audit?.details).toMatchObject({ passwordSource: "generated" });
    expect(JSON.stringify(audit?.details)).not.toContain(password);
  });
});
