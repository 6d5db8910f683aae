import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabase } from "@/lib/testing/db";
import { config } from "@/lib/config";
import { insertUser, updateUserAccess } from "@/lib/db/queries/users";
import { hashPassword } from "./password";
import { clientKey } from "./rate-limit";
import { checkCredentials } from "./sign-in";

// Small limits, so the waits are walked in seconds: 3 failures of an account from one address are free, then
// that pair waits 1 s, 2 s, 3 s (the cap); an address past 6 failures over all accounts waits from its first
// failure of an account. Set before anything reads the configuration (it is read once, lazily).
Object.assign(process.env, {
  FAILBACK_SIGNIN_FREE_FAILURES: "3",
  FAILBACK_SIGNIN_CLIENT_FREE_FAILURES: "6",
  FAILBACK_SIGNIN_DELAY_SECONDS: "1",
  FAILBACK_SIGNIN_MAX_DELAY_SECONDS: "3",
});

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
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function newUser(name: string) {
  const address = `${name}-${tag}@example.test`;
  await insertUser(db, { email: address, name, role: "viewer", passwordHash: await hashPassword(password) });
  return address;
}

/** The answers to `times` wrong guesses for `account` from `from`, one after the other. */
async function guess(account: string, from: ReturnType<typeof client>, times: number) {
  const answers: string[] = [];
  for (let i = 0; i < times; i++) {
    const result = await checkCredentials(db, { email: account, password: `guess-${i}` }, from);
    answers.push(result.ok ? "ok" : result.reason);
  }
  return answers;
}

describe("sign-in checks (real PostgreSQL)", () => {
  it("reads the small limits this file sets", () => {
    expect(config().signIn).toMatchObject({ freeFailures: 3, clientFreeFailures: 6, delaySeconds: 1 });
  });

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

  it("answers an unknown user exactly like a wrong password through the waits too, and audits them alike", async () => {
    const known = await newUser("dora");
    const ghost = `ghost-dora-${tag}@example.test`;
    const [a, b] = [client("60"), client("61")];
    const [knownAnswers, ghostAnswers] = [await guess(known, a, 4), await guess(ghost, b, 4)];
    expect(knownAnswers).toEqual(["invalid", "invalid", "invalid", "throttled"]);
    expect(ghostAnswers).toEqual(knownAnswers);
    await sleep(1100);
    expect(await guess(ghost, b, 1)).toEqual(await guess(known, a, 1));
    const reasons = async (from: typeof a) =>
      (
        await sql`select outcome, reason from audit_log where action = 'auth.sign_in' and client_ip = ${from.clientIp} order by id`
      ).map((r) => `${r.outcome}: ${r.reason}`);
    expect(await reasons(b)).toEqual(await reasons(a));
    expect(await reasons(a)).toEqual([
      ...Array(3).fill("denied: invalid credentials"),
      "denied: throttled",
      "denied: invalid credentials",
    ]);
  });

  it("lets the right password in from another address at once, however many guesses one address made", async () => {
    const victim = await newUser("bob");
    const attacker = client("10");
    const answers = await guess(victim, attacker, 12);
    expect((await checkCredentials(db, { email: victim, password }, client("11"))).ok).toBe(true);
    expect(answers).toEqual([...Array(3).fill("invalid"), ...Array(9).fill("throttled")]);
    // The attacker's own pair still waits: the owner's success elsewhere clears only the owner's pair.
    expect(await checkCredentials(db, { email: victim, password }, attacker)).toEqual({
      ok: false,
      reason: "throttled",
    });
  });

  it("makes the failing address wait, growing, without checking; the right password gets in once the wait is over", async () => {
    const owner = await newUser("erin");
    const from = client("20");
    const right = () => checkCredentials(db, { email: owner, password }, from);
    expect(await guess(owner, from, 3)).toEqual(["invalid", "invalid", "invalid"]);
    expect(await right()).toEqual({ ok: false, reason: "throttled" }); // the first wait: 1 s
    await sleep(1100);
    expect(await guess(owner, from, 1)).toEqual(["invalid"]); // checked again; the next wait is 2 s
    await sleep(1100);
    expect(await right()).toEqual({ ok: false, reason: "throttled" }); // 1.1 s into the 2 s wait
    await sleep(1000); // a throttled attempt does not restart the wait
    expect((await right()).ok).toBe(true);
    // The success cleared this pair's failures: the free allowance starts again.
    expect(await guess(owner, from, 1)).toEqual(["invalid"]);
    expect((await right()).ok).toBe(true);
  });

  it("spraying many accounts from one address: an account it has not failed lets its right password in at once from that address; one it failed waits the capped delay, then lets it in", async () => {
    const sprayer = client("200");
    const sprayed = await newUser("frank");
    for (let i = 0; i < 24; i++) expect(await guess(`spray-${i}-${tag}@example.test`, sprayer, 1)).toEqual(["invalid"]);
    expect(await guess(sprayed, sprayer, 1)).toEqual(["invalid"]);
    // Alice was never tried from here.
    expect((await checkCredentials(db, { email, password }, sprayer)).ok).toBe(true);
    // Frank was, once: past its free failures, the address waits from the first failure of an account (3 s here).
    const frank = () => checkCredentials(db, { email: sprayed, password }, sprayer);
    expect(await frank()).toEqual({ ok: false, reason: "throttled" });
    expect((await checkCredentials(db, { email: sprayed, password }, client("201"))).ok).toBe(true);
    await sleep(3100);
    expect((await frank()).ok).toBe(true);
  });

  it("checks no more passwords than allowed when guesses for one account and address arrive together", async () => {
    const target = await newUser("gina");
    const from = client("30");
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => checkCredentials(db, { email: target, password: `burst-${i}` }, from)),
    );
    const reasons = answers.map((a) => (a.ok ? "ok" : a.reason)).sort();
    expect(reasons).toEqual([...Array(3).fill("invalid"), ...Array(5).fill("throttled")]);
  });

  it("throttles an IPv6 address by its /64, which one site can rotate through at will", async () => {
    expect(clientKey("2001:db8:1:2:3:4:5:6")).toBe("2001:db8:1:2::/64");
    expect(clientKey("2001:DB8:0001::7")).toBe("2001:db8:1:0::/64");
    expect(clientKey("1::2:3:4:5:6:7")).toBe("1:0:2:3::/64");
    expect(clientKey("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
    expect(clientKey("::ffff:192.0.2.7")).toBe("192.0.2.7");
    expect(clientKey("192.0.2.7")).toBe("192.0.2.7");
    const owner = await newUser("hugo");
    const site = (host: string) => ({ clientIp: `2001:db8:${tag.slice(-4)}:1::${host}`, userAgent: "vitest" });
    expect(await guess(owner, site("a"), 3)).toEqual(["invalid", "invalid", "invalid"]);
    expect(await checkCredentials(db, { email: owner, password }, site("b"))).toEqual({
      ok: false,
      reason: "throttled",
    });
    const elsewhere = { clientIp: `2001:db8:${tag.slice(-4)}:2::a`, userAgent: "vitest" };
    expect((await checkCredentials(db, { email: owner, password }, elsewhere)).ok).toBe(true);
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
