// A sign-in is a row on the server (auth_sessions), and the cookie counts only while that row does: signing out
// revokes it, it ends 12 hours after the password was checked however often the cookie is renewed, and a copy of
// the cookie is then refused by pages and server actions (currentActor), the API's cookie path and an open
// event stream alike. Real PostgreSQL and the real Auth.js pipeline (sign-in, cookie decoding, the jwt and
// session callbacks), driven through its HTTP handlers; only Next's request scope is stood in for.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { decode } from "next-auth/jwt";
import { call, tag, type Handler } from "@/lib/api/testing/fixtures";
import { closeApiResources, loadApiRoutes } from "@/lib/api/testing/routes";
import { insertUser } from "@/lib/db/queries/users";
import type { User } from "@/lib/db/schema";
import { testDatabase } from "@/lib/testing/db";
import { hashPassword } from "./password";

// The key must be set before anything reads the configuration; the data folder is then never touched.
vi.hoisted(() => {
  process.env.FAILBACK_SECRET_KEY = "5e".repeat(32);
});

/** The test's browser: its cookies, kept from Auth.js's answers and sent with every request. */
const browser = vi.hoisted(() => {
  const jar = new Map<string, string>();
  const cookieHeader = () => [...jar].map(([name, value]) => `${name}=${value}`).join("; ");
  type AuthHandler = (request: Request) => Promise<Response>;
  /** A request to Auth.js's endpoint /api/auth/<action>, as the browser would send it. */
  async function authCall(handler: AuthHandler, method: string, action: string, body?: URLSearchParams) {
    const headers: Record<string, string> = {
      cookie: cookieHeader(),
      "x-failback-client-ip": "10.77.0.1",
      "user-agent": "vitest",
    };
    if (body) headers["content-type"] = "application/x-www-form-urlencoded";
    const response = await handler(new Request(`http://localhost/api/auth/${action}`, { method, headers, body }));
    for (const line of response.headers.getSetCookie()) {
      const [pair = "", ...attributes] = line.split(";");
      const name = pair.slice(0, pair.indexOf("=")).trim();
      const value = pair.slice(pair.indexOf("=") + 1);
      if (value === "" || attributes.some((a) => /^\s*max-age=0\s*$/i.test(a))) jar.delete(name);
      else jar.set(name, value);
    }
    return response;
  }
  /** A form body with Auth.js's CSRF token (fetched as its own pages do). */
  async function withCsrf(get: AuthHandler, fields: Record<string, string>) {
    const { csrfToken } = (await (await authCall(get, "GET", "csrf")).json()) as { csrfToken: string };
    return new URLSearchParams({ ...fields, csrfToken });
  }
  return { jar, cookieHeader, authCall, withCsrf };
});
const clientIp = "10.77.0.1";

vi.mock("next/headers", () => ({
  headers: async () => new Headers({ "x-failback-client-ip": "10.77.0.1", "user-agent": "vitest" }),
}));
// next-auth is Auth.js (@auth/core) plus Next's request scope, which a test does not have: here auth() and
// signOut() hand Auth.js the test browser's cookies through its own endpoints, which is what they do in Next.
// The configuration in auth.ts (provider, callbacks, events, token encoding) runs unchanged.
vi.mock("next-auth", async () => {
  const core = await import("@auth/core");
  const errors = await import("@auth/core/errors");
  type Config = Parameters<typeof core.Auth>[1];
  return {
    ...errors,
    default: (lazy: () => Config) => {
      const handler = (request: Request) => {
        const config = { basePath: "/api/auth", ...lazy() };
        core.setEnvDefaults(process.env, config);
        return core.Auth(request, config);
      };
      return {
        handlers: { GET: handler, POST: handler },
        auth: async () => (await browser.authCall(handler, "GET", "session")).json(),
        signOut: async () => {
          await browser.authCall(handler, "POST", "signout", await browser.withCsrf(handler, {}));
        },
      };
    },
  };
});

const database = testDatabase();
const { db, sql } = database;
const password = "correct horse battery";
type AuthHandler = (request: Request) => Promise<Response>;
let handlers: { GET: AuthHandler; POST: AuthHandler };
let me: Handler;

beforeAll(async () => {
  me = (await loadApiRoutes()).me;
  handlers = (await import("./auth")).handlers as unknown as typeof handlers;
});
afterEach(() => {
  vi.useRealTimers();
  browser.jar.clear();
});
afterAll(async () => {
  await closeApiResources();
  await database.close();
});

async function newUser(): Promise<User> {
  const user = await insertUser(db, {
    email: `sessions-${tag()}@auth.test`,
    name: "Sessions",
    role: "operator",
    passwordHash: await hashPassword(password),
  });
  if (!user) throw new Error("user insert failed");
  return user;
}

/** Signs in as the sign-in form does (Auth.js's credentials callback); the browser keeps the cookies. */
async function signIn(user: User, callbackUrl = "/"): Promise<Response> {
  const body = await browser.withCsrf(handlers.GET, { email: user.email, password, callbackUrl });
  const response = await browser.authCall(handlers.POST, "POST", "callback/credentials", body);
  expect(browser.jar.has("authjs.session-token")).toBe(true);
  return response;
}

const sessionRows = (userId: string) =>
  sql`select id, created_at, expires_at, revoked_at, client_ip, user_agent from auth_sessions where user_id = ${userId} order by created_at`;

async function currentActor() {
  const { currentActor } = await import("./actor");
  return currentActor();
}

/** GET /api/v1/me with the browser's cookies: the API's cookie authentication. */
async function meStatus(): Promise<number> {
  return (await call(me, "/api/v1/me", { headers: { cookie: browser.cookieHeader() }, clientIp })).status;
}

async function sessionBody(): Promise<unknown> {
  return (await browser.authCall(handlers.GET, "GET", "session")).json();
}

describe("a sign-in's server-side record", () => {
  it("is made at sign-in, with an end 12 hours on, and named by the cookie", async () => {
    const user = await newUser();
    await signIn(user);
    const [row, ...more] = await sessionRows(user.id);
    expect(more).toHaveLength(0);
    expect(row?.revoked_at).toBeNull();
    expect(new Date(row?.expires_at).getTime() - new Date(row?.created_at).getTime()).toBe(12 * 3600 * 1000);
    expect(row).toMatchObject({ client_ip: clientIp, user_agent: "vitest" });
    expect(await currentActor()).toMatchObject({ userId: user.id, authSessionId: row?.id });
    expect(await meStatus()).toBe(200);
  });

  it("is revoked by signing out, and a copy of the cookie is refused everywhere afterwards", async () => {
    const user = await newUser();
    await signIn(user);
    const copy = new Map(browser.jar);
    const { authenticate } = await import("@/lib/api/authenticate");
    const request = new Request("http://localhost/api/v1/me", { headers: { cookie: browser.cookieHeader() } });
    const principal = await authenticate(db, request);
    const { stillAllowed } = await import("@/lib/api/authorize");
    expect(await stillAllowed(db, principal, "session.read")).toBe(true);

    const { signOutNow } = await import("@/lib/actions/auth/sign-out");
    await signOutNow();
    expect(browser.jar.has("authjs.session-token")).toBe(false);

    for (const [name, value] of copy) browser.jar.set(name, value);
    expect(await currentActor()).toBeNull();
    expect(await meStatus()).toBe(401);
    // An event stream opened before the sign-out closes at its next check.
    expect(await stillAllowed(db, principal, "session.read")).toBe(false);
    // Reading the session (which renews a cookie it accepts) does not bring it back.
    expect(await sessionBody()).toBeNull();
    expect(await currentActor()).toBeNull();

    const [row] = await sessionRows(user.id);
    expect(row?.revoked_at ?? null).not.toBeNull();
    const audit =
      await sql`select outcome from audit_log where action = 'auth.sign_out' and actor_user_id = ${user.id}`;
    expect(audit.map((a) => a.outcome)).toEqual(["ok"]);
  });

  it("is refused once revoked, by any path", async () => {
    const user = await newUser();
    await signIn(user);
    const [row] = await sessionRows(user.id);
    const { revokeAuthSession } = await import("@/lib/db/queries/auth-sessions");
    expect(await revokeAuthSession(db, String(row?.id))).toBe(true);
    expect(await revokeAuthSession(db, String(row?.id))).toBe(false);
    expect(await currentActor()).toBeNull();
    expect(await meStatus()).toBe(401);
    expect(await sessionBody()).toBeNull();
  });

  it("is refused once expired, even if the cookie is still fresh", async () => {
    const user = await newUser();
    await signIn(user);
    await sql`update auth_sessions set expires_at = now() - interval '1 second' where user_id = ${user.id}`;
    expect(await currentActor()).toBeNull();
    expect(await meStatus()).toBe(401);
    expect(await sessionBody()).toBeNull();
  });

  it("is ended by Auth.js's own sign-out endpoint too", async () => {
    const user = await newUser();
    await signIn(user);
    await browser.authCall(handlers.POST, "POST", "signout", await browser.withCsrf(handlers.GET, {}));
    const [row] = await sessionRows(user.id);
    expect(row?.revoked_at ?? null).not.toBeNull();
  });

  it("must belong to the user the cookie names", async () => {
    const [alice, bob] = [await newUser(), await newUser()];
    await signIn(alice);
    const [row] = await sessionRows(alice.id);
    const { signedInUser } = await import("./actor");
    const claims = { userId: alice.id, sessionVersion: alice.sessionVersion, authSessionId: row?.id };
    expect(await signedInUser(db, claims)).toMatchObject({ userId: alice.id });
    expect(await signedInUser(db, { ...claims, userId: bob.id, sessionVersion: bob.sessionVersion })).toBeNull();
    expect(await signedInUser(db, { ...claims, authSessionId: undefined })).toBeNull();
    expect(await signedInUser(db, { ...claims, authSessionId: "not-a-uuid" })).toBeNull();
  });
});

describe("the cookie's absolute lifetime", () => {
  const salt = "authjs.session-token";
  const secret = async () => (await import("@/lib/config")).derivedKey("auth").toString("hex");

  it("is not extended by renewing the cookie", async () => {
    const user = await newUser();
    const signedInAt = Date.now();
    await signIn(user);
    // The row is made to outlast the cookie: what is checked here is the token's own end.
    await sql`update auth_sessions set expires_at = now() + interval '3 days' where user_id = ${user.id}`;

    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(signedInAt + 11 * 3600 * 1000);
    expect(await sessionBody()).toMatchObject({ userId: user.id });
    const renewed = await decode({ token: browser.jar.get(salt), secret: await secret(), salt });
    expect(renewed?.exp).toBeLessThanOrEqual(Math.ceil(signedInAt / 1000) + 12 * 3600);
    expect(await currentActor()).toMatchObject({ userId: user.id });

    vi.setSystemTime(signedInAt + 12 * 3600 * 1000 + 60_000);
    expect(await currentActor()).toBeNull();
    expect(await meStatus()).toBe(401);
    expect(await sessionBody()).toBeNull();
  });

  it("is refused for a cookie that names no recorded sign-in", async () => {
    const user = await newUser();
    const { encode } = await import("next-auth/jwt");
    const token = { sub: user.id, sv: user.sessionVersion, email: user.email };
    browser.jar.set(salt, await encode({ token, secret: await secret(), salt }));
    expect(await currentActor()).toBeNull();
    expect(await meStatus()).toBe(401);
    expect(await sessionBody()).toBeNull();
  });
});

describe("where signing in leads", () => {
  it.each(["/\\evil.example", "//evil.example", "https://evil.example/", "/%09/evil.example"])(
    "never to another site (%s)",
    async (callbackUrl) => {
      const response = await signIn(await newUser(), callbackUrl);
      expect(response.headers.get("location")).toBe("http://localhost/");
    },
  );

  it("to a path of this site", async () => {
    const response = await signIn(await newUser(), "/sessions?state=running");
    expect(response.headers.get("location")).toBe("http://localhost/sessions?state=running");
  });
});
