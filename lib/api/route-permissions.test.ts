// S1 for the API: every route as anonymous, viewer, operator and admin (bearer tokens, handlers called
// directly, real PostgreSQL). Where the role has the permission the request gets past the check (to a typed
// answer from the route or the engine); where it has not, it gets 403 with nothing changed and a denial row.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commandOf } from "@/lib/commands/catalog";
import { testDatabase } from "@/lib/testing/db";
import { can, type Permission } from "@/lib/auth/permissions";
import type { UserRole } from "@/lib/db/schema";
import {
  call,
  anonymousDenialsOf,
  denialsOf,
  errorOf,
  fabricateSession,
  finishFabricated,
  fingerprint,
  userWithToken,
  type FabricatedSession,
  type Handler,
  type TokenUser,
} from "./testing/fixtures";
import {
  closeApiResources,
  loadApiRoutes,
  sessionCommandNames,
  type ApiRoutes,
  type SessionCommandName,
} from "./testing/routes";

const database = testDatabase();
const { db, sql } = database;
let routes: ApiRoutes;
const users = {} as Record<UserRole, TokenUser>;
/** A finished session: every command is refused by the engine with a typed INVALID_STATE, so nothing moves. */
let finished: FabricatedSession;

beforeAll(async () => {
  routes = await loadApiRoutes();
  for (const role of ["admin", "operator", "viewer"] as const) users[role] = await userWithToken(db, role);
  finished = await fabricateSession(db, { state: "committed", createdBy: users.admin.user.id });
});
afterAll(async () => {
  await finishFabricated(db, [finished]);
  await closeApiResources();
  await database.close();
});

interface RouteCase {
  name: string;
  operation: string;
  permission: Permission | null;
  handler: () => Handler;
  path: () => string;
  params?: () => Record<string, string>;
  body?: () => unknown;
  /** Statuses that show the request got past authorization. */
  allowed: number[];
}

const tomorrow = () => new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
const sid = () => ({ id: finished.session.id });

const cases: RouteCase[] = [
  {
    name: "GET /me",
    operation: "api.me",
    permission: null,
    handler: () => routes.me,
    path: () => "/api/v1/me",
    allowed: [200],
  },
  {
    name: "GET /replicas",
    operation: "replica.list",
    permission: "replica.read",
    handler: () => routes.listReplicas,
    path: () => "/api/v1/replicas",
    allowed: [200],
  },
  {
    name: "GET /replicas/{id}",
    operation: "replica.read",
    permission: "replica.read",
    handler: () => routes.getReplica,
    path: () => `/api/v1/replicas/${finished.replicaId}`,
    params: () => ({ id: finished.replicaId }),
    allowed: [200],
  },
  {
    name: "GET /sessions",
    operation: "session.list",
    permission: "session.read",
    handler: () => routes.listSessions,
    path: () => "/api/v1/sessions",
    allowed: [200],
  },
  {
    name: "POST /sessions",
    operation: "failback.start",
    permission: "failback.start",
    handler: () => routes.startSession,
    path: () => "/api/v1/sessions",
    body: () => ({
      items: [{ replicaId: "00000000-0000-4000-8000-00000000abcd", target: "original" }],
      switchMode: "manual",
    }),
    allowed: [404],
  },
  {
    name: "GET /sessions/{id}",
    operation: "session.read",
    permission: "session.read",
    handler: () => routes.getSession,
    path: () => `/api/v1/sessions/${finished.session.id}`,
    params: sid,
    allowed: [200],
  },
  {
    name: "GET /sessions/{id}/events?format=json",
    operation: "session.read",
    permission: "session.read",
    handler: () => routes.events,
    path: () => `/api/v1/sessions/${finished.session.id}/events?format=json`,
    params: sid,
    allowed: [200],
  },
  ...(sessionCommandNames as SessionCommandName[]).map((name): RouteCase => ({
    name: `POST /sessions/{id}/${name}`,
    operation: commandOf(name).audit,
    permission: commandOf(name).permission,
    handler: () => routes.actions[name],
    path: () => `/api/v1/sessions/${finished.session.id}/${name}`,
    params: sid,
    body: () => (name === "reschedule" ? { local: `${tomorrow()}T10:00`, timeZone: "Europe/Berlin" } : {}),
    allowed: [409],
  })),
];

describe.each(cases)("$name", (route) => {
  // Anonymous refusals are counted per client: each route's anonymous call comes from an address of its own.
  const anonymousClient = `10.98.${cases.indexOf(route)}.1`;
  const send = (token: string | null) =>
    call(route.handler(), route.path(), {
      token,
      clientIp: token ? undefined : anonymousClient,
      params: route.params?.() ?? {},
      body: route.body?.(),
      method: route.body ? "POST" : "GET",
    });

  it("refuses anonymous callers with 401 and audits it", async () => {
    const total = async () =>
      Object.values(await anonymousDenialsOf(sql, anonymousClient, route.operation)).reduce((a, n) => a + n, 0);
    const before = await total();
    const response = await send(null);
    expect(response.status).toBe(401);
    expect(await total()).toBe(before + 1);
  });

  it.each(["admin", "operator", "viewer"] as const)("as %s", async (role) => {
    const { user, token } = users[role];
    const digest = await fingerprint(sql, user.id, [finished.session.id]);
    const deniedBefore = (await denialsOf(sql, user.id, route.operation)).length;
    const response = await send(token);
    if (route.permission === null || can(role, route.permission)) {
      expect(route.allowed).toContain(response.status);
      // Past the permission check: what refused it was the engine (a finished session, an unknown replica),
      // and that refusal is recorded with its code — never as a missing permission.
      const denials = (await denialsOf(sql, user.id, route.operation)).slice(deniedBefore);
      expect(denials.filter((d) => d.reason.startsWith("missing permission"))).toEqual([]);
      for (const denial of denials) expect(denial.reason).toMatch(/^(INVALID_STATE|NOT_FOUND|CONFLICT):/);
    } else {
      expect(response.status).toBe(403);
      expect((await errorOf(response)).code).toBe("FORBIDDEN");
      const denials = await denialsOf(sql, user.id, route.operation);
      expect(denials.length).toBe(deniedBefore + 1);
      expect(denials.at(-1)?.reason).toBe(`missing permission ${route.permission}`);
      expect(denials.at(-1)?.details).toMatchObject({ via: "api", method: route.body ? "POST" : "GET" });
    }
    // Refused by the role or by the engine (a finished session), the request changed nothing.
    expect(await fingerprint(sql, user.id, [finished.session.id])).toBe(digest);
  });
});

describe("a viewer's denial does not depend on the body", () => {
  it("is 403 (not 400) for a malformed body, audited, with nothing read from it", async () => {
    const { user, token } = users.viewer;
    const response = await call(routes.actions.commit, `/api/v1/sessions/not-a-uuid/commit`, {
      token,
      params: { id: "not-a-uuid" },
      body: "{not json",
      method: "POST",
    });
    expect(response.status).toBe(403);
    const denial = (await denialsOf(sql, user.id, "failback.commit")).at(-1);
    expect(denial?.target_id).toBe("not-a-uuid");
  });
});
