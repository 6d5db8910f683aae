// Walks the command catalogue: for every command, the dashboard's server action and the /api/v1 route enforce
// the same permission (a denial audited under the command's audit action), validate with the same schema (the
// same field errors for the same bad input) and audit a success under the same action; the OpenAPI document and
// the command line offer exactly the catalogue's commands. Real PostgreSQL; the dashboard's session is faked
// only at its source (who is signed in, the request's headers).
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { openApiDocument } from "@/lib/api/openapi/document";
import {
  call,
  fabricateSession,
  finishFabricated,
  fingerprint,
  userWithToken,
  type FabricatedSession,
} from "@/lib/api/testing/fixtures";
import { closeApiResources, loadApiRoutes } from "@/lib/api/testing/routes";
import type { Actor } from "@/lib/auth/actor";
import { can } from "@/lib/auth/permissions";
import type { UserRole } from "@/lib/db/schema";
import { testDatabase } from "@/lib/testing/db";
import { allCommands, commandNames, commandOf, type CommandName } from "./catalog";
import type { runCommand as RunCommandFn } from "@/lib/actions/run-command";
import type { AnyCommand } from "./define";

type RunCommand = typeof RunCommandFn;

const signedIn = vi.hoisted(() => ({ actor: null as Actor | null }));
vi.mock("@/lib/auth/actor", () => ({ currentActor: async () => signedIn.actor }));
vi.mock("next/headers", () => ({
  headers: async () => new Headers({ host: "localhost", origin: "http://localhost" }),
}));
vi.mock("next/cache", () => ({ revalidatePath: () => {} }));

const database = testDatabase();
const { db, sql } = database;
const users = {} as Record<UserRole, Awaited<ReturnType<typeof userWithToken>>>;
const made: FabricatedSession[] = [];
let target: FabricatedSession;
let runCommand: RunCommand;

beforeAll(async () => {
  await loadApiRoutes();
  ({ runCommand } = await import("@/lib/actions/run-command"));
  for (const role of ["admin", "operator", "viewer"] as const)
    users[role] = await userWithToken(db, role, `cat-${role}`);
  target = await fabricateSession(db, { state: "switched", createdBy: users.admin.user.id });
  made.push(target);
});
afterAll(async () => {
  await finishFabricated(db, made);
  await closeApiResources();
  await database.close();
});

const actorOf = (role: UserRole): Actor => ({
  userId: users[role].user.id,
  email: users[role].user.email,
  name: role,
  role,
  clientIp: "10.99.0.7",
  userAgent: "catalogue test",
});

/** app/api/v1/sessions/[id]/commit/route.ts for /sessions/{sessionId}/commit. */
const routeFileOf = (command: AnyCommand) =>
  path.join(process.cwd(), "app/api/v1", command.http?.path.replace(/\{\w+\}/g, "[id]") ?? "", "route.ts");

/** The URL and the route's params for a command, with path fields taken from `input`. */
function urlOf(command: AnyCommand, input: Record<string, unknown>) {
  const params: Record<string, string> = {};
  const url = (command.http?.path ?? "").replace(/\{(\w+)\}/g, (_all, field: string) => {
    params.id = String(input[field]);
    return encodeURIComponent(String(input[field]));
  });
  return { url: `/api/v1${url}`, params };
}

async function viaApi(command: AnyCommand, role: UserRole, input: Record<string, unknown>) {
  const { url, params } = urlOf(command, input);
  const route = (await import(/* @vite-ignore */ routeFileOf(command))) as { POST: Parameters<typeof call>[0] };
  const response = await call(route.POST, url, { token: users[role].token, body: input, params, method: "POST" });
  return {
    status: response.status,
    body: (await response.json()) as { error?: { code: string; fieldErrors?: object } },
  };
}

async function viaDashboard(name: CommandName, role: UserRole, input: Record<string, unknown>) {
  signedIn.actor = actorOf(role);
  return runCommand(name, null, input);
}

/** Anonymous refusals with this "action: reason" key, counted or already written to the audit log. */
async function anonymousCount(key: string): Promise<number> {
  const [counted] = await sql`select coalesce(sum((actions ->> ${key})::int), 0)::int as n from anonymous_denials`;
  const [audited] = await sql`select coalesce(sum((details -> 'refused' ->> ${key})::int), 0)::int as n
    from audit_log where action = 'anonymous.denied'`;
  return Number(counted?.n) + Number(audited?.n);
}

const auditRows = (userId: string, action: string, outcome: "ok" | "denied") =>
  sql`select details from audit_log where actor_user_id = ${userId} and action = ${action} and outcome = ${outcome}`;

/** Input each command refuses for a field of its own (not a path field), and a role that lacks its permission. */
const badInput: Record<CommandName, () => Record<string, unknown>> = {
  check: () => ({ items: [], switchMode: "manual" }),
  start: () => ({ items: [], switchMode: "manual" }),
  "switch-now": () => ({ sessionId: target.session.id, itemId: "not-an-id" }),
  reschedule: () => ({ sessionId: target.session.id, local: "", timeZone: "Europe/Berlin" }),
  "cancel-schedule": () => ({ sessionId: target.session.id, unexpected: true }),
  commit: () => ({ sessionId: target.session.id, itemId: "not-an-id" }),
  undo: () => ({ sessionId: target.session.id, itemId: "not-an-id" }),
  cancel: () => ({ sessionId: target.session.id, itemId: "not-an-id" }),
  retry: () => ({ sessionId: target.session.id, itemId: "not-an-id" }),
  "create-user": () => ({ email: "not an email", name: "x", role: "viewer", password: "short" }),
  "change-user-role": () => ({ userId: users.viewer.user.id, role: "owner" }),
  "set-user-disabled": () => ({ userId: users.viewer.user.id, disabled: "maybe" }),
  "create-token": () => ({ name: "" }),
  "revoke-token": () => ({ tokenId: "not-an-id" }),
};

describe("the command catalogue", () => {
  it("names each command, and each audit action, once", () => {
    const commands = allCommands();
    expect(new Set(commands.map((c) => c.name)).size).toBe(commands.length);
    expect(new Set(commands.map((c) => c.audit)).size).toBe(commands.length);
    for (const name of commandNames) expect(commandOf(name).name).toBe(name);
  });

  it("has a route file for every command with an API route, and the OpenAPI document describes it", () => {
    for (const command of allCommands().filter((c) => c.http)) {
      expect(fs.existsSync(routeFileOf(command)), command.name).toBe(true);
      const documented = (openApiDocument.paths as Record<string, Record<string, Record<string, unknown>>>)[
        `/api/v1${command.http?.path}`
      ]?.[(command.http?.method ?? "").toLowerCase()];
      expect(documented?.["x-permission"], command.name).toBe(command.permission);
      expect(documented?.["x-audit-action"], command.name).toBe(command.audit);
    }
  });

  it("gives the command line exactly the catalogue's commands it offers", async () => {
    const { commands } = await import("@/lib/cli/main");
    const offered = allCommands().filter((c) => c.cli);
    const reading = ["login", "replicas", "status"];
    expect(commands.map((c) => c.name).filter((n) => !reading.includes(n))).toEqual(offered.map((c) => c.name));
    for (const command of offered) expect(commands.find((c) => c.name === command.name)?.summary).toBe(command.summary);
  });

  describe.each(commandNames)("%s", (name) => {
    const command = commandOf(name);

    // S1 for the dashboard and the API: every role, by direct call; a role without the permission is refused
    // and audited under the command's action, one with it gets past the check (to the input's field errors).
    it.each(["viewer", "operator", "admin"] as const)(
      "as %s: refused without its permission, audited",
      async (role) => {
        const digest = await fingerprint(sql, users[role].user.id, [target.session.id]);
        const before = (await auditRows(users[role].user.id, command.audit, "denied")).length;
        const allowed = can(role, command.permission);
        const dashboard = await viaDashboard(name, role, badInput[name]());
        expect(dashboard).toMatchObject({ ok: false, code: allowed ? "VALIDATION" : "FORBIDDEN" });
        if (command.http) {
          const api = await viaApi(command, role, badInput[name]());
          expect(api.status).toBe(allowed ? 400 : 403);
        }
        const denials = await auditRows(users[role].user.id, command.audit, "denied");
        expect(denials.length).toBe(before + (allowed ? 0 : command.http ? 2 : 1));
        expect(await fingerprint(sql, users[role].user.id, [target.session.id])).toBe(digest);
      },
    );

    it("as anonymous: refused, and counted under its action for the audit log", async () => {
      signedIn.actor = null;
      const key = `${command.audit}: not signed in`;
      const before = await anonymousCount(key);
      const result = await runCommand(name, null, badInput[name]());
      expect(result).toMatchObject({ ok: false, code: "UNAUTHENTICATED" });
      expect(await anonymousCount(key)).toBe(before + 1);
    });

    it("refuses the same bad input with the same field errors on both surfaces", async () => {
      const input = badInput[name]();
      const dashboard = await viaDashboard(name, "admin", input);
      expect(dashboard.ok, JSON.stringify(dashboard)).toBe(false);
      if (dashboard.ok) return;
      expect(dashboard.code).toBe("VALIDATION");
      expect(Object.keys(dashboard.fieldErrors ?? {}).length).toBeGreaterThan(0);
      if (!command.http) return;
      const api = await viaApi(command, "admin", input);
      expect(api.status).toBe(400);
      expect(api.body.error?.fieldErrors).toEqual(dashboard.fieldErrors);
    });
  });

  it("names the target of a denial: the session refused, on both surfaces", async () => {
    const denied = await fabricateSession(db, { state: "switched", createdBy: users.admin.user.id });
    made.push(denied);
    const sessionId = denied.session.id;
    await viaDashboard("commit", "viewer", { sessionId });
    await viaApi(commandOf("commit"), "viewer", { sessionId });
    const rows = await sql`select target_type, details->>'via' as via from audit_log
      where actor_user_id = ${users.viewer.user.id} and action = 'failback.commit' and outcome = 'denied'
        and target_id = ${sessionId}`;
    expect(rows.map((r) => [r.target_type, r.via]).sort()).toEqual([
      ["failback_session", "api"],
      ["failback_session", "dashboard"],
    ]);
  });

  it("audits a refused command: revoking another user's token is refused, recorded, and changes nothing", async () => {
    const refused = await viaDashboard("revoke-token", "viewer", { tokenId: users.admin.tokenId });
    expect(refused).toMatchObject({ ok: false, code: "NOT_FOUND" });
    const [row] = await sql`select target_type, target_id, reason from audit_log
      where actor_user_id = ${users.viewer.user.id} and action = 'token.revoke' and outcome = 'denied'`;
    expect(row).toMatchObject({ target_type: "api_token", target_id: users.admin.tokenId });
    expect(row?.reason).toMatch(/^NOT_FOUND/);
    const [token] = await sql`select revoked_at from api_tokens where id = ${users.admin.tokenId}`;
    expect(token?.revoked_at).toBeNull();
  });

  it("audits a success under the command's action on both surfaces (commit, then create-token)", async () => {
    const viaBoth = [
      await fabricateSession(db, { state: "switched", createdBy: users.operator.user.id }),
      await fabricateSession(db, { state: "switched", createdBy: users.operator.user.id }),
    ];
    made.push(...viaBoth);
    const dashboard = await viaDashboard("commit", "operator", { sessionId: viaBoth[0]?.session.id });
    expect(dashboard.ok).toBe(true);
    const api = await viaApi(commandOf("commit"), "operator", { sessionId: viaBoth[1]?.session.id });
    expect(api.status).toBe(200);
    const rows = await auditRows(users.operator.user.id, "failback.commit", "ok");
    expect(rows.map((r) => (r.details as { via: string }).via).sort()).toEqual(["api", "dashboard"]);

    const token = await viaDashboard("create-token", "viewer", { name: "catalogue test" });
    expect(token.ok).toBe(true);
    expect(await auditRows(users.viewer.user.id, "token.create", "ok")).toHaveLength(1);
  });
});
