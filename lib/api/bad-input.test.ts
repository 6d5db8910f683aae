// S5 for the API: well over a hundred malformed requests per write route — broken JSON, wrong types, huge
// strings, prototype keys, SQL metacharacters, unknown and malformed ids — each answered with a typed 4xx,
// never a 500 or a stack trace, and nothing changed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabase } from "@/lib/testing/db";
import { maxBodyBytes } from "./body";
import {
  apiRequest,
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
let admin: TokenUser;
/** Switched: a well-formed commit or undo would change it, so the fingerprint shows any input that got through. */
let target: FabricatedSession;

beforeAll(async () => {
  routes = await loadApiRoutes();
  admin = await userWithToken(db, "admin");
  target = await fabricateSession(db, {
    state: "switched",
    createdBy: admin.user.id,
    switchMode: "scheduled",
    schedule: true,
  });
});
afterAll(async () => {
  await finishFabricated(db, [target]);
  await closeApiResources();
  await database.close();
});

const huge = "x".repeat(100_000);
const sqlish = "'; drop table users; --";
const nilUuid = "00000000-0000-4000-8000-000000000000";

/** Bodies as raw text (sent with Content-Type: application/json unless said otherwise). */
const rawBodies: { body: string | Uint8Array; contentType?: string }[] = [
  { body: "{" },
  { body: "[]" },
  { body: "null" },
  { body: "42" },
  { body: '"text"' },
  { body: "{'single': 'quotes'}" },
  { body: '{"a":1,}' },
  { body: "\u0000\u0001" },
  { body: "{}{}" },
  { body: "[".repeat(5000) + "]".repeat(5000) },
  { body: JSON.stringify({ a: Array.from({ length: 40 }).reduce<unknown>((inner) => ({ inner }), 1) }) },
  { body: `{"pad":"${"y".repeat(maxBodyBytes)}"}` },
  { body: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]) },
  { body: '{"itemId":"x"}', contentType: "text/plain" },
  { body: "itemId=1", contentType: "application/x-www-form-urlencoded" },
  { body: '{"__proto__":{"admin":true}}' },
  { body: '{"constructor":{"prototype":{"admin":true}}}' },
  { body: '{"items":[{"__proto__":{"x":1}}]}' },
];

const itemBodies: unknown[] = [
  { itemId: 1 },
  { itemId: null },
  { itemId: true },
  { itemId: [] },
  { itemId: {} },
  { itemId: "not-a-uuid" },
  { itemId: sqlish },
  { itemId: huge },
  { itemId: nilUuid.slice(0, -1) },
  { itemId: `${nilUuid} ` },
  { itemId: nilUuid, extra: 1 },
  { itemID: nilUuid },
  { item_id: nilUuid },
  { itemId: nilUuid }, // well-formed, but names no VM of this session: NOT_FOUND
];

const rescheduleBodies: unknown[] = [
  {},
  { local: "2099-01-01T10:00" },
  { timeZone: "Europe/Berlin" },
  { local: 20990101, timeZone: "Europe/Berlin" },
  { local: "2099-01-01 10:00", timeZone: "Europe/Berlin" },
  { local: "2099-13-01T10:00", timeZone: "Europe/Berlin" },
  { local: "2099-02-30T10:00", timeZone: "Europe/Berlin" },
  { local: "2099-01-01T25:00", timeZone: "Europe/Berlin" },
  { local: "2020-01-01T10:00", timeZone: "Europe/Berlin" },
  { local: "2099-03-29T02:30", timeZone: "Europe/Berlin" }, // skipped hour (DST gap)
  { local: "2099-10-25T02:30", timeZone: "Europe/Berlin" }, // repeated hour
  { local: "2099-01-01T10:00", timeZone: "Mars/Olympus_Mons" },
  { local: "2099-01-01T10:00", timeZone: sqlish },
  { local: huge, timeZone: "Europe/Berlin" },
  { local: "2099-01-01T10:00", timeZone: huge },
  { local: "2099-01-01T10:00", timeZone: "Europe/Berlin", itemId: nilUuid },
  { local: null, timeZone: null },
];

/** Path ids that are not ids, or ids of nothing. */
const badIds = [
  "not-a-uuid",
  sqlish,
  "..%2F..%2Fetc%2Fpasswd",
  huge.slice(0, 5000),
  "",
  " ",
  "00000000-0000-0000-0000-00000000000g",
  nilUuid,
  nilUuid.toUpperCase().replace("4000", "4001"),
];

interface Attempt {
  id: string;
  body: string | Uint8Array | undefined;
  contentType?: string;
}

function attemptsFor(name: SessionCommandName): Attempt[] {
  const bodies =
    name === "reschedule"
      ? rescheduleBodies
      : name === "cancel-schedule"
        ? [...itemBodies, { x: 1 }, { local: "2099-01-01T10:00" }]
        : itemBodies;
  const jsonBodies = bodies.map((b) => ({
    body: JSON.stringify(b) as string | Uint8Array,
    contentType: undefined as string | undefined,
  }));
  const own: Attempt[] = [...rawBodies, ...jsonBodies].map((b) => ({ id: target.session.id, ...b }));
  // Malformed or unknown session ids, with a well-formed body and with a malformed one.
  const wellFormed =
    name === "reschedule" ? JSON.stringify({ local: "2099-01-01T10:00", timeZone: "Europe/Berlin" }) : "{}";
  const elsewhere = badIds.flatMap((id) => [
    { id, body: wellFormed },
    { id, body: undefined },
    ...jsonBodies.slice(0, 8).map((b) => ({ id, ...b })),
  ]);
  return [...own, ...elsewhere];
}

async function send(
  handler: Handler,
  path: string,
  attempt: Attempt,
  params: Record<string, string>,
): Promise<Response> {
  const base = apiRequest(path, { token: admin.token });
  const headers = new Headers(base.headers);
  if (attempt.body !== undefined) headers.set("content-type", attempt.contentType ?? "application/json");
  return handler(new Request(base.url, { method: "POST", headers, body: attempt.body as BodyInit | undefined }), {
    params: Promise.resolve(params),
  });
}

async function expectTypedRefusal(response: Response, what: string) {
  expect(response.status, what).toBeGreaterThanOrEqual(400);
  expect(response.status, what).toBeLessThan(500);
  const text = await response.text();
  const { error } = JSON.parse(text) as { error: { code: string; message: string } };
  expect(["VALIDATION", "NOT_FOUND", "CONFLICT", "INVALID_STATE"], what).toContain(error.code);
  expect(text, what).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
}

describe.each(sessionCommandNames as SessionCommandName[])("POST /sessions/{id}/%s with malformed input", (name) => {
  it("answers every attempt with a typed 4xx and changes nothing", async () => {
    const attempts = attemptsFor(name);
    expect(attempts.length).toBeGreaterThanOrEqual(100);
    const digest = await fingerprint(sql, admin.user.id, [target.session.id]);
    for (const [i, attempt] of attempts.entries()) {
      const response = await send(
        routes.actions[name],
        `/api/v1/sessions/${encodeURIComponent(attempt.id)}/${name}`,
        attempt,
        { id: attempt.id },
      );
      await expectTypedRefusal(
        response,
        `${name} #${i} id=${attempt.id.slice(0, 40)} body=${String(attempt.body).slice(0, 60)}`,
      );
    }
    expect(await fingerprint(sql, admin.user.id, [target.session.id])).toBe(digest);
  });
});

describe("POST /sessions with malformed input", () => {
  const item = { replicaId: nilUuid, target: "original" };
  const starts = (): unknown[] => [
    {},
    { items: "all" },
    { items: [] },
    { items: [{}] },
    { items: [item] },
    { items: [item], switchMode: "now" },
    { items: [{ ...item, replicaId: "web-01" }], switchMode: "manual" },
    { items: [{ ...item, replicaId: sqlish }], switchMode: "manual" },
    { items: [{ ...item, target: "elsewhere" }], switchMode: "manual" },
    { items: [{ ...item, target: "recovered" }], switchMode: "manual" },
    { items: [{ ...item, target: "new_location" }], switchMode: "manual" },
    {
      items: [{ ...item, target: "new_location", newLocation: { hostId: nilUuid, name: "../../etc" } }],
      switchMode: "manual",
    },
    {
      items: [{ ...item, target: "new_location", newLocation: { hostId: nilUuid, name: "ok", cpus: 1000 } }],
      switchMode: "manual",
    },
    { items: [{ ...item, extra: true }], switchMode: "manual" },
    { items: [item, item], switchMode: "manual" },
    {
      items: Array.from({ length: 201 }, (_, i) => ({
        ...item,
        replicaId: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
      })),
      switchMode: "manual",
    },
    { items: [item], switchMode: "scheduled" },
    { items: [item], switchMode: "scheduled", switchAt: { local: "tomorrow", timeZone: "Europe/Berlin" } },
    { items: [item], switchMode: "scheduled", switchAt: { local: "2099-01-01T10:00", timeZone: "Nowhere/Special" } },
    { items: [item], switchMode: "scheduled", switchAt: { local: "2020-01-01T10:00", timeZone: "UTC" } },
    { items: [item], switchMode: "manual", quickRollback: "yes" },
    { items: [item], switchMode: "manual", powerOnAfter: 1 },
    { items: [item], switchMode: "manual", shutdownTimeoutSeconds: -1 },
    { items: [item], switchMode: "manual", shutdownTimeoutSeconds: 1.5 },
    { items: [item], switchMode: "manual", shutdownTimeoutSeconds: "900" },
    { items: [item], switchMode: "manual", shutdownTimeoutSeconds: 1e12 },
    { items: [item], switchMode: "manual", reason: huge },
    { items: [item], switchMode: "manual", reason: 42 },
    { items: [item], switchMode: "manual", reason: sqlish }, // well-formed: the replica is unknown
    { items: [item], switchMode: "manual" }, // well-formed: the replica is unknown
    { items: [{ ...item, replicaId: target.replicaId }], switchMode: "manual" }, // in a live session already
  ];

  it("answers every attempt with a typed 4xx and creates nothing", async () => {
    const attempts: Attempt[] = [...rawBodies, ...starts().map((b) => ({ body: JSON.stringify(b) }))].map((b) => ({
      id: "",
      ...b,
    }));
    expect(attempts.length).toBeGreaterThanOrEqual(45);
    const digest = await fingerprint(sql, admin.user.id, [target.session.id]);
    for (const [i, attempt] of attempts.entries()) {
      await expectTypedRefusal(
        await send(routes.startSession, "/api/v1/sessions", attempt, {}),
        `start #${i} ${String(attempt.body).slice(0, 80)}`,
      );
    }
    expect(await fingerprint(sql, admin.user.id, [target.session.id])).toBe(digest);
  });

  it("names the fields at fault", async () => {
    const response = await send(
      routes.startSession,
      "/api/v1/sessions",
      { id: "", body: JSON.stringify({ items: [{ replicaId: "x", target: "original" }], switchMode: "scheduled" }) },
      {},
    );
    const { error } = (await response.json()) as { error: { code: string; fieldErrors: Record<string, string[]> } };
    expect(error.code).toBe("VALIDATION");
    expect(Object.keys(error.fieldErrors).sort()).toEqual(["items.0.replicaId", "switchAt"]);
  });
});

describe("reads with malformed input", () => {
  it("answer typed 400/404 for bad filters and ids", async () => {
    const reads: [Handler, string, Record<string, string>][] = [
      [routes.listReplicas, "/api/v1/replicas?state=exploded", {}],
      [routes.listReplicas, `/api/v1/replicas?name=${huge.slice(0, 300)}`, {}],
      [routes.listSessions, "/api/v1/sessions?limit=-5", {}],
      [routes.listSessions, "/api/v1/sessions?live=maybe", {}],
      [routes.listSessions, "/api/v1/sessions?state=%27%3B%20drop", {}],
      ...badIds.map((id): [Handler, string, Record<string, string>] => [
        routes.getReplica,
        `/api/v1/replicas/${encodeURIComponent(id)}`,
        { id },
      ]),
      ...badIds.map((id): [Handler, string, Record<string, string>] => [
        routes.getSession,
        `/api/v1/sessions/${encodeURIComponent(id)}`,
        { id },
      ]),
      ...badIds.map((id): [Handler, string, Record<string, string>] => [
        routes.events,
        `/api/v1/sessions/${encodeURIComponent(id)}/events?format=json`,
        { id },
      ]),
    ];
    for (const [handler, path, params] of reads) {
      const response = await handler(apiRequest(path, { token: admin.token }), { params: Promise.resolve(params) });
      expect([400, 404], path.slice(0, 80)).toContain(response.status);
    }
  });
});
