// S5 for the dashboard's server actions: every command of the catalogue, called the way a browser (or an
// attacker with a browser's cookie) calls the one server action, with at least 100 malformed inputs — wrong
// types, lengths, control characters, unknown or malformed ids, prototype keys, SQL metacharacters, inputs that
// are not objects at all. Every answer is a typed refusal (never INTERNAL, never a stack trace) and nothing the
// caller could reach changes. Real PostgreSQL; only "who is signed in" and the request headers are faked.
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { fabricateSession, finishFabricated, fingerprint, userWithToken } from "@/lib/api/testing/fixtures";
import type { Actor } from "@/lib/auth/actor";
import type { runCommand as RunCommandFn } from "@/lib/actions/run-command";
import { errorCodes } from "@/lib/errors";
import { testDatabase } from "@/lib/testing/db";
import { commandNames, type CommandName } from "./catalog";

const signedIn = vi.hoisted(() => ({ actor: null as Actor | null }));
vi.mock("@/lib/auth/actor", () => ({ currentActor: async () => signedIn.actor }));
vi.mock("next/headers", () => ({
  headers: async () => new Headers({ host: "localhost", origin: "http://localhost" }),
}));
vi.mock("next/cache", () => ({ revalidatePath: () => {} }));

const database = testDatabase();
const { db, sql } = database;
let runCommand: typeof RunCommandFn;
let admin: Awaited<ReturnType<typeof userWithToken>>;
let finished: Awaited<ReturnType<typeof fabricateSession>>;

beforeAll(async () => {
  // The server action reads DATABASE_URL through lib/config, once: point it at the run's database first.
  process.env.DATABASE_URL = inject("databaseUrl");
  ({ runCommand } = await import("@/lib/actions/run-command"));
  admin = await userWithToken(db, "admin", "s5-admin");
  // Finished: every command on it is refused for its state, so even a well-formed field cannot change it.
  finished = await fabricateSession(db, { state: "committed", createdBy: admin.user.id });
  signedIn.actor = {
    userId: admin.user.id,
    email: admin.user.email,
    name: "s5",
    role: "admin",
    clientIp: "10.99.0.5",
    userAgent: "s5",
  };
});
afterAll(async () => {
  await finishFabricated(db, [finished]);
  const { closeApiResources } = await import("@/lib/api/testing/routes");
  await closeApiResources();
  await database.close();
});

const nilUuid = "00000000-0000-4000-8000-000000000000";
const huge = "x".repeat(100_000);

/** Values no field of any command accepts as they are. */
const badValues: unknown[] = [
  null,
  true,
  0,
  -1,
  1e308,
  Number.NaN,
  [],
  ["a"],
  {},
  { nested: { deeper: true } },
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "line\u0007bell",
  "esc\u001b[31m",
  "del\u007f",
  huge,
  "'; drop table users; --",
  '" or 1=1 --',
  "not-a-uuid",
  "00000000-0000-0000-0000-00000000000g",
  "../../etc/passwd",
  "${7*7}",
];

/** A well-formed input for each command that still cannot succeed, so one bad field is all that is tested. */
const baselines: Record<CommandName, () => Record<string, unknown>> = {
  check: () => ({ items: [{ replicaId: nilUuid, target: "original" }], switchMode: "manual" }),
  start: () => ({ items: [{ replicaId: nilUuid, target: "original" }], switchMode: "manual" }),
  "switch-now": () => ({ sessionId: finished.session.id }),
  reschedule: () => ({ sessionId: finished.session.id, local: "2099-01-01T10:00", timeZone: "Europe/Berlin" }),
  "cancel-schedule": () => ({ sessionId: finished.session.id }),
  commit: () => ({ sessionId: finished.session.id }),
  undo: () => ({ sessionId: finished.session.id }),
  cancel: () => ({ sessionId: finished.session.id }),
  retry: () => ({ sessionId: finished.session.id }),
  // An email in use: a well-formed rest of the form still creates nobody.
  "create-user": () => ({ email: admin.user.email, name: "S5", role: "viewer", password: "a-long-enough-password" }),
  "change-user-role": () => ({ userId: nilUuid, role: "viewer" }),
  "set-user-disabled": () => ({ userId: nilUuid, disabled: "true" }),
  // Its name is always replaced by a bad value below, so no token is made.
  "create-token": () => ({ name: "" }),
  "revoke-token": () => ({ tokenId: nilUuid }),
};

/** Fields whose bad values are tried: every field of the baseline, plus the ones forms add or attackers try. */
function attemptsFor(name: CommandName): unknown[] {
  const base = baselines[name]();
  const fields = [...new Set([...Object.keys(base), "itemId", "items", "name", "sessionId"])];
  const attempts: unknown[] = [];
  for (const field of fields) for (const value of badValues) attempts.push({ ...base, [field]: value });
  // Prototype keys, as JSON would deliver them (an own property named __proto__).
  attempts.push(JSON.parse(`{"__proto__": {"role": "admin"}, "sessionId": "${nilUuid}"}`));
  attempts.push({ ...base, constructor: { prototype: { isAdmin: true } } });
  // Not an object at all, and a form with a file in it.
  const form = new FormData();
  form.set("name", new Blob(["\u0000"]), "x.bin");
  attempts.push(null, undefined, "sessionId=1", 42, true, "", [base], [], form, new FormData());
  if (name === "create-token") return attempts.filter((a) => !isValidTokenName(a));
  return attempts;
}

/** create-token with a clean name would (rightly) make a token: such attempts are no malformed input. */
function isValidTokenName(attempt: unknown): boolean {
  const value = (attempt as { name?: unknown } | null)?.name;
  return (
    typeof value === "string" && value.trim().length > 0 && value.length <= 64 && !/[\u0000-\u001f\u007f]/.test(value)
  );
}

describe.each(commandNames)("server action %s with malformed input", (name) => {
  it("answers every attempt with a typed refusal and changes nothing", async () => {
    const attempts = attemptsFor(name);
    expect(attempts.length).toBeGreaterThanOrEqual(100);
    const before = await fingerprint(sql, admin.user.id, [finished.session.id]);
    for (const [i, attempt] of attempts.entries()) {
      const result = await runCommand(name, null, attempt);
      const what = `${name} #${i}: ${JSON.stringify(attempt)?.slice(0, 80)}`;
      expect(result.ok, what).toBe(false);
      if (result.ok) continue;
      expect(errorCodes, what).toContain(result.code);
      expect(result.code, what).not.toBe("INTERNAL");
      expect(result.message, what).not.toMatch(/\n\s+at |node_modules|\.ts:\d+|Failed query/);
    }
    expect(await fingerprint(sql, admin.user.id, [finished.session.id])).toBe(before);
  });
});
