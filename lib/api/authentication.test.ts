// Who may call the API at all (real PostgreSQL, route handlers called directly): anonymous and malformed
// credentials are refused and audited; a revoked token, a disabled user and a downgraded role take effect on
// the very next request; failed tokens are throttled per client, and never a valid one.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabase } from "@/lib/testing/db";
import { updateUserAccess } from "@/lib/db/queries/users";
import { revokeTokenOfUser } from "@/lib/db/queries/api-tokens";
import {
  anonymousDenialsOf,
  call,
  denialsOf,
  errorOf,
  fingerprint,
  userWithToken,
  type TokenUser,
} from "./testing/fixtures";
import { closeApiResources, loadApiRoutes, type ApiRoutes } from "./testing/routes";
import { tokenFailureLimits } from "./token-throttle";

const database = testDatabase();
const { db, sql } = database;
let routes: ApiRoutes;

beforeAll(async () => {
  routes = await loadApiRoutes();
});
afterAll(async () => {
  await closeApiResources();
  await database.close();
});

describe("authentication", () => {
  it("refuses a request without credentials with 401 and audits it as anonymous", async () => {
    const response = await call(routes.listReplicas, "/api/v1/replicas", { clientIp: "10.1.0.1" });
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect((await errorOf(response)).code).toBe("UNAUTHENTICATED");
    expect(await anonymousDenialsOf(sql, "10.1.0.1", "replica.list")).toEqual({ "no credentials": 1 });
  });

  it("refuses a malformed Authorization header, an unknown token and a token-shaped guess alike", async () => {
    const clientIp = "10.1.0.2";
    for (const headers of [
      { authorization: "Basic YWRtaW46YWRtaW4=" },
      { authorization: "Bearer" },
      { authorization: "Bearer fbk_short" },
      { authorization: `Bearer fbk_${"A".repeat(43)}` },
    ]) {
      const response = await call(routes.me, "/api/v1/me", { headers, clientIp });
      expect(response.status).toBe(401);
      expect((await errorOf(response)).code).toBe("UNAUTHENTICATED");
    }
    expect(await anonymousDenialsOf(sql, clientIp, "api.me")).toEqual({
      "malformed Authorization header": 2,
      "malformed api token": 1,
      "unknown api token": 1,
    });
  });

  it("ignores headers that bypass middleware elsewhere (S4): the check lives in the handler", async () => {
    const headers = {
      "x-middleware-subrequest": "middleware:middleware:middleware:middleware:middleware",
      "x-forwarded-user": "admin",
    };
    const response = await call(routes.listSessions, "/api/v1/sessions", { headers, clientIp: "10.1.0.4" });
    expect(response.status).toBe(401);
  });

  it("never lets a cookie stand in for a session outside a signed-in browser", async () => {
    const response = await call(routes.me, "/api/v1/me", {
      headers: { cookie: "authjs.session-token=forged" },
      clientIp: "10.1.0.3",
    });
    expect(response.status).toBe(401);
    expect(await anonymousDenialsOf(sql, "10.1.0.3", "api.me")).toEqual({ "no valid sign-in cookie": 1 });
  });

  it("accepts a live token with its user's current role and records when it was used", async () => {
    const operator = await userWithToken(db, "operator");
    const response = await call(routes.me, "/api/v1/me", { token: operator.token });
    expect(response.status).toBe(200);
    const me = (await response.json()) as { email: string; role: string; via: string; permissions: string[] };
    expect(me).toMatchObject({ email: operator.user.email, role: "operator", via: "token" });
    expect(me.permissions).toContain("failback.commit");
    const [row] =
      await sql`select last_used_at, secret_hash, prefix, row_to_json(t)::text as whole from api_tokens t where id = ${operator.tokenId}`;
    expect(row?.last_used_at).not.toBeNull();
    // Only the hash is stored: the secret appears nowhere in the row.
    expect(row?.secret_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(row?.whole).not.toContain(operator.token.slice(12));
    expect(operator.token.startsWith(String(row?.prefix))).toBe(true);
  });
});

describe("a token follows its user, at once", () => {
  let alice: TokenUser;
  beforeAll(async () => {
    alice = await userWithToken(db, "operator", "alice");
  });

  it("refuses a revoked token on the next request and names its user in the audit row", async () => {
    const bob = await userWithToken(db, "admin", "bob");
    expect((await call(routes.listSessions, "/api/v1/sessions", { token: bob.token })).status).toBe(200);
    await revokeTokenOfUser(db, bob.user.id, bob.tokenId);
    const response = await call(routes.listSessions, "/api/v1/sessions", { token: bob.token });
    expect(response.status).toBe(401);
    expect((await errorOf(response)).message).toMatch(/unknown or revoked/);
    expect((await denialsOf(sql, bob.user.id, "session.list")).map((d) => d.reason)).toEqual(["revoked api token"]);
  });

  it("acts with the downgraded role on the next request: 403, nothing changed, the denial audited", async () => {
    const body = {
      items: [{ replicaId: "00000000-0000-4000-8000-000000000001", target: "original" }],
      switchMode: "manual",
    };
    const before = await call(routes.startSession, "/api/v1/sessions", { token: alice.token, body });
    expect((await errorOf(before)).code).toBe("NOT_FOUND"); // allowed to try: the engine found no such replica
    await updateUserAccess(db, alice.user.id, { role: "viewer" });
    const digest = await fingerprint(sql, alice.user.id, []);
    const after = await call(routes.startSession, "/api/v1/sessions", { token: alice.token, body });
    expect(after.status).toBe(403);
    expect((await errorOf(after)).code).toBe("FORBIDDEN");
    expect(await fingerprint(sql, alice.user.id, [])).toBe(digest);
    // The first try was refused by the engine (recorded with its code); the second by the role.
    const denials = await denialsOf(sql, alice.user.id, "failback.start");
    expect(denials.map((d) => d.reason).filter((r) => r.startsWith("missing permission"))).toEqual([
      "missing permission failback.start",
    ]);
    // What a viewer may do still works with the same token.
    expect((await call(routes.listReplicas, "/api/v1/replicas", { token: alice.token })).status).toBe(200);
  });

  it("refuses every token of a disabled user, and works again once the user is enabled", async () => {
    const carol = await userWithToken(db, "operator", "carol");
    await updateUserAccess(db, carol.user.id, { disabled: true });
    const response = await call(routes.me, "/api/v1/me", { token: carol.token });
    expect(response.status).toBe(401);
    expect((await denialsOf(sql, carol.user.id, "api.me")).map((d) => d.reason)).toEqual([
      "api token of a disabled user",
    ]);
    await updateUserAccess(db, carol.user.id, { disabled: false });
    expect((await call(routes.me, "/api/v1/me", { token: carol.token })).status).toBe(200);
  });
});

describe("throttling failed tokens", () => {
  const badToken = (i: number) => `fbk_${String(i).padStart(43, "x")}`;

  it("answers 429 to a client's bad tokens after repeated failures, yet still accepts its valid token", async () => {
    const dave = await userWithToken(db, "viewer", "dave");
    const guesser = "10.1.9.9";
    const limit = tokenFailureLimits.maxPerClient;
    const statuses: number[] = [];
    for (let i = 0; i < limit + 5; i++)
      statuses.push((await call(routes.me, "/api/v1/me", { token: badToken(i), clientIp: guesser })).status);
    expect(statuses).toEqual([...Array(limit).fill(401), ...Array(5).fill(429)]);
    // The valid token is looked up first: other tokens' failures never refuse it.
    expect((await call(routes.me, "/api/v1/me", { token: dave.token, clientIp: guesser })).status).toBe(200);
    for (const token of [badToken(999), "fbk_short"]) {
      const throttled = await call(routes.me, "/api/v1/me", { token, clientIp: guesser });
      expect(throttled.status).toBe(429);
      expect(throttled.headers.get("retry-after")).toBeTruthy();
      expect((await errorOf(throttled)).code).toBe("THROTTLED");
    }
    expect((await anonymousDenialsOf(sql, guesser, "api.me"))["api token failures throttled"]).toBeGreaterThanOrEqual(
      2,
    );
    expect((await call(routes.me, "/api/v1/me", { token: badToken(1), clientIp: "10.1.9.10" })).status).toBe(401);
  });

  it("does not count a revoked token retried by a forgotten script: the others behind that address keep working", async () => {
    const [erin, frank] = [await userWithToken(db, "viewer", "erin"), await userWithToken(db, "viewer", "frank")];
    await revokeTokenOfUser(db, erin.user.id, erin.tokenId);
    const sharedProxy = "10.1.9.20";
    for (let i = 0; i < tokenFailureLimits.maxPerClient + 5; i++)
      expect((await call(routes.me, "/api/v1/me", { token: erin.token, clientIp: sharedProxy })).status).toBe(401);
    expect((await call(routes.me, "/api/v1/me", { token: frank.token, clientIp: sharedProxy })).status).toBe(200);
  });
});
