// Integration-test fixtures for the API: users of each role with tokens, requests as the route handlers
// receive them, failback sessions written straight into the database (no VMs needed to test the API's
// checks and the engine's command paths), and a fingerprint of everything a request could have changed.
import crypto from "node:crypto";
import { eq, inArray } from "drizzle-orm";
import type { Db } from "@/lib/db/client";
import { upsertHost, upsertReplica, upsertSite, upsertVm } from "@/lib/db/queries/estate";
import { insertApiToken } from "@/lib/db/queries/api-tokens";
import { insertUser } from "@/lib/db/queries/users";
import {
  failbackItems,
  failbackSessions,
  switchSchedules,
  type FailbackItem,
  type FailbackSession,
  type ItemState,
  type User,
  type UserRole,
} from "@/lib/db/schema";
import { appendEvent } from "@/lib/events/events";
import { newTokenSecret } from "@/lib/api/token-secret";
import type postgres from "postgres";

export const tag = () => crypto.randomBytes(4).toString("hex");

export interface TokenUser {
  user: User;
  token: string;
  tokenId: string;
}

export async function userWithToken(db: Db, role: UserRole, label: string = role): Promise<TokenUser> {
  const user = await insertUser(db, {
    email: `${label}-${tag()}@api.test`,
    name: label,
    role,
    passwordHash: "not-used-by-api-tests",
  });
  if (!user) throw new Error("user insert failed");
  const secret = newTokenSecret();
  const row = await insertApiToken(db, {
    userId: user.id,
    name: `${label} token`,
    prefix: secret.prefix,
    secretHash: secret.secretHash,
  });
  return { user, token: secret.token, tokenId: row.id };
}

export interface CallOptions {
  method?: string;
  token?: string | null;
  /** An object is sent as JSON; a string is sent as it is. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Where the request comes from (the throttle counts per client). */
  clientIp?: string;
  /** Aborting it is the client going away (event streams). */
  signal?: AbortSignal;
}

export function apiRequest(path: string, options: CallOptions = {}): Request {
  const headers = new Headers(options.headers);
  if (options.token) headers.set("authorization", `Bearer ${options.token}`);
  headers.set("x-failback-client-ip", options.clientIp ?? "10.99.0.1");
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
  }
  return new Request(`http://localhost${path}`, {
    method: options.method ?? (body === undefined ? "GET" : "POST"),
    headers,
    body,
    signal: options.signal,
  });
}

export type Handler = (request: Request, context?: { params: Promise<Record<string, string>> }) => Promise<Response>;

export function call(
  handler: Handler,
  path: string,
  options: CallOptions & { params?: Record<string, string> } = {},
): Promise<Response> {
  return handler(apiRequest(path, options), { params: Promise.resolve(options.params ?? {}) });
}

export async function errorOf(
  response: Response,
): Promise<{ code: string; message: string; fieldErrors?: Record<string, string[]> }> {
  const body = (await response.json()) as {
    error?: { code: string; message: string; fieldErrors?: Record<string, string[]> };
  };
  if (!body.error) throw new Error(`expected an error body, got ${JSON.stringify(body)}`);
  return body.error;
}

// ── sessions without VMs ─────────────────────────────────────────────────────────────────────

export interface FabricatedSession {
  session: FailbackSession;
  item: FailbackItem;
  replicaId: string;
  scheduleId: string | null;
}

/**
 * A session with one item in `state`, on an estate of its own (a replica per session, since a replica may be
 * in one live session only). The item's lease is held far into the future, so a worker of a test running
 * alongside (same database) leaves it alone; nothing here has VMs behind it.
 */
export async function fabricateSession(
  db: Db,
  options: {
    state: ItemState;
    createdBy: string;
    switchMode?: FailbackSession["switchMode"];
    activePlan?: string | null;
    resumeState?: ItemState | null;
    schedule?: boolean;
  },
): Promise<FabricatedSession> {
  const t = tag();
  const site = await upsertSite(db, `api-test-site-${t}`);
  const host = await upsertHost(db, {
    siteId: site.id,
    name: `api-test-host-${t}`,
    providerKind: "qemu",
    connection: { siteDir: `/nonexistent/api-test-${t}` },
  });
  const vm = (name: string) =>
    upsertVm(db, { hostId: host.id, externalId: name, name, cpus: 1, memoryMib: 64, guestAgent: false, config: {} });
  const source = await vm(`api-vm-${t}`);
  const replicaVm = await vm(`api-vm-${t}-replica`);
  const replica = await upsertReplica(db, { sourceVmId: source.id, replicaVmId: replicaVm.id });
  const [session] = await db
    .insert(failbackSessions)
    .values({
      state: options.state,
      switchMode: options.switchMode ?? "manual",
      createdBy: options.createdBy,
      reason: "api test",
    })
    .returning();
  if (!session) throw new Error("session insert failed");
  const [item] = await db
    .insert(failbackItems)
    .values({
      sessionId: session.id,
      replicaId: replica.id,
      targetKind: "original",
      targetVmId: source.id,
      originalSourceVmId: source.id,
      state: options.state,
      activePlan: options.activePlan ?? null,
      resumeState: options.resumeState ?? null,
      leaseOwner: "api-test",
      leaseAttempt: 1,
      leaseExpiresAt: new Date(Date.now() + 3600_000),
    })
    .returning();
  if (!item) throw new Error("item insert failed");
  let scheduleId: string | null = null;
  if (options.schedule) {
    const [schedule] = await db
      .insert(switchSchedules)
      .values({
        sessionId: session.id,
        runAt: new Date(Date.now() + 2 * 86_400_000),
        timeZone: "Europe/Berlin",
        createdBy: options.createdBy,
      })
      .returning();
    scheduleId = schedule?.id ?? null;
  }
  await db.transaction(async (tx) => {
    await appendEvent(tx, {
      sessionId: session.id,
      type: "session.created",
      payload: { by: "api test", items: 1, switchMode: session.switchMode, runAt: null, timeZone: null },
    });
    await appendEvent(tx, {
      sessionId: session.id,
      itemId: item.id,
      type: "item.state",
      payload: { from: "pending", to: options.state, why: "fabricated by the API tests" },
    });
  });
  return { session, item, replicaId: replica.id, scheduleId };
}

/** Leaves fabricated items finished, so no worker of a later test run ever considers them. */
export async function finishFabricated(db: Db, sessions: FabricatedSession[]): Promise<void> {
  if (sessions.length === 0) return;
  const ids = sessions.map((s) => s.session.id);
  await db
    .update(failbackItems)
    .set({ state: "cancelled", activePlan: null, leaseOwner: null, leaseExpiresAt: null })
    .where(inArray(failbackItems.sessionId, ids));
  await db.update(switchSchedules).set({ state: "cancelled" }).where(inArray(switchSchedules.sessionId, ids));
  await db
    .update(failbackSessions)
    .set({ state: "cancelled", finishedAt: new Date() })
    .where(inArray(failbackSessions.id, ids));
}

export async function itemOf(db: Db, itemId: string): Promise<FailbackItem> {
  const [item] = await db.select().from(failbackItems).where(eq(failbackItems.id, itemId));
  if (!item) throw new Error("no such item");
  return item;
}

// ── what a request could have changed ─────────────────────────────────────────────────────────

/**
 * A digest of every row a request by `userId` about `sessionIds` could write: those sessions with their items,
 * steps, schedules and events; sessions the user created; the user's own row and tokens (but not "last used");
 * and the user's successful audit rows. Scoped, because other test files write to the same database meanwhile.
 */
export async function fingerprint(sql: postgres.Sql, userId: string, sessionIds: string[]): Promise<string> {
  const ids = sessionIds.length ? sessionIds : ["00000000-0000-0000-0000-000000000000"];
  const [row] = await sql`
    select md5(concat_ws('#',
      (select string_agg(s::text, '|' order by s.id) from failback_sessions s where s.id = any(${ids}::uuid[]) or s.created_by = ${userId}),
      (select string_agg(i::text, '|' order by i.id) from failback_items i where i.session_id = any(${ids}::uuid[])),
      (select string_agg(st::text, '|' order by st.id) from failback_steps st join failback_items i on i.id = st.item_id where i.session_id = any(${ids}::uuid[])),
      (select string_agg(sc::text, '|' order by sc.id) from switch_schedules sc where sc.session_id = any(${ids}::uuid[])),
      (select string_agg(e.id::text, '|' order by e.id) from events e where e.session_id = any(${ids}::uuid[])),
      (select string_agg(u::text, '|') from users u where u.id = ${userId}),
      (select string_agg(concat_ws(',', t.id, t.name, t.revoked_at), '|' order by t.id) from api_tokens t where t.user_id = ${userId}),
      (select count(*)::text from audit_log a where a.actor_user_id = ${userId} and a.outcome = 'ok')
    )) as digest`;
  return String(row?.digest);
}

export async function denialsOf(
  sql: postgres.Sql,
  userId: string | null,
  action: string,
): Promise<{ reason: string; target_id: string | null; details: Record<string, unknown> }[]> {
  return userId
    ? sql`select reason, target_id, details from audit_log where actor_user_id = ${userId} and action = ${action} and outcome = 'denied' order by id`
    : sql`select reason, target_id, details from audit_log where actor_user_id is null and action = ${action} and outcome = 'denied' order by id`;
}

/**
 * The client's anonymous refusals of `action`, by reason, as counted (per client and minute) or already written
 * to the audit log for a finished minute.
 */
export async function anonymousDenialsOf(
  sql: postgres.Sql,
  clientIp: string,
  action: string,
): Promise<Record<string, number>> {
  const rows = await sql`
    select actions as refused from anonymous_denials where client_ip = ${clientIp}
    union all
    select details -> 'refused' from audit_log where action = 'anonymous.denied' and client_ip = ${clientIp}`;
  const counts: Record<string, number> = {};
  for (const row of rows) {
    for (const [key, n] of Object.entries(row.refused as Record<string, number>)) {
      if (!key.startsWith(`${action}: `)) continue;
      const reason = key.slice(action.length + 2);
      counts[reason] = (counts[reason] ?? 0) + n;
    }
  }
  return counts;
}
