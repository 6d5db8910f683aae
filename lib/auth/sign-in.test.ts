import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabase } from "@/lib/testing/db";
import { insertUser, updateUserAccess } from "@/lib/db/queries/users";
import { hashPassword } from "./password";
import { checkCredentials } from "./sign-in";

const database = testDatabase();
const { db, sql } = database;
const tag = `${Date.now()}`;
const email = `alice-${tag}@example.test`;
const password = "correct horse battery";
let userId = "";

beforeAll(async () => {
  const user = await insertUser(db, {
    email,
    name: "Alice",
    role: "operator",
    passwordHash: await hashPassword(password),
  });
  userId = user?.id ?? "";
});
afterAll(() => database.close());

const client = (n: string) => ({ clientIp: `10.0.${tag.slice(-3)}.${n}`, userAgent: "vitest" });

describe("sign-in checks (real PostgreSQL)", () => {
  it("stores argon2id hashes", async () => {
    const [row] = await sql`select password_hash from users where id = ${userId}`;
    expect(row?.password_hash).toMatch(/^\$argon2id\$/);
  });

  it("accepts the right password, case-insensitively on the email", async () => {
    const result = await checkCredentials(db, { email: email.toUpperCase(), password }, client("1"));
    expect(result.ok).toBe(true);
  });

  it("answers an unknown user exactly like a wrong password, and audits both", async () => {
    const wrong = await checkCredentials(db, { email, password: "nope" }, client("2"));
    const unknown = await checkCredentials(db, { email: `ghost-${tag}@example.test`, password: "nope" }, client("2"));
    expect(wrong).toEqual({ ok: false, reason: "invalid" });
    expect(unknown).toEqual(wrong);
    const audits =
      await sql`select outcome from audit_log where action = 'auth.sign_in' and client_ip = ${client("2").clientIp}`;
    expect(audits.map((a) => a.outcome)).toEqual(["denied", "denied"]);
  });

  it("throttles an account after repeated failures, even with the right password, from any client", async () => {
    const victim = `bob-${tag}@example.test`;
    await insertUser(db, { email: victim, name: "Bob", role: "viewer", passwordHash: await hashPassword(password) });
    for (let i = 0; i < 5; i++)
      await checkCredentials(db, { email: victim, password: "guess" + i }, client(String(10 + i)));
    const result = await checkCredentials(db, { email: victim, password }, client("99"));
    expect(result).toEqual({ ok: false, reason: "throttled" });
  });

  it("throttles a client that sprays many accounts", async () => {
    const sprayer = client("200");
    for (let i = 0; i < 20; i++)
      await checkCredentials(db, { email: `spray-${i}-${tag}@example.test`, password: "x" }, sprayer);
    const result = await checkCredentials(db, { email, password }, sprayer);
    expect(result).toEqual({ ok: false, reason: "throttled" });
    expect((await checkCredentials(db, { email, password }, client("201"))).ok).toBe(true);
  });

  it("refuses a disabled user with the same answer as a wrong password", async () => {
    const carol = `carol-${tag}@example.test`;
    const user = await insertUser(db, {
      email: carol,
      name: "Carol",
      role: "viewer",
      passwordHash: await hashPassword(password),
    });
    await updateUserAccess(db, user?.id ?? "", { disabled: true });
    expect(await checkCredentials(db, { email: carol, password }, client("50"))).toEqual({
      ok: false,
      reason: "invalid",
    });
  });
});
