// The session actions through the API, reaching the engine for real (sessions written straight into the
// database, no VMs): each command moves what it should, is audited once by the engine, refuses an illegal
// move with a typed 409, and keeps to the session named in the path.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabase } from "@/lib/testing/db";
import { failbackSessions, switchSchedules, type ItemState } from "@/lib/db/schema";
import {
  call,
  errorOf,
  fabricateSession,
  finishFabricated,
  fingerprint,
  itemOf,
  userWithToken,
  type FabricatedSession,
  type TokenUser,
} from "./testing/fixtures";
import { closeApiResources, loadApiRoutes, type ApiRoutes, type SessionCommandName } from "./testing/routes";

const database = testDatabase();
const { db, sql } = database;
let routes: ApiRoutes;
let operator: TokenUser;
const made: FabricatedSession[] = [];

beforeAll(async () => {
  routes = await loadApiRoutes();
  operator = await userWithToken(db, "operator");
});
afterAll(async () => {
  await finishFabricated(db, made);
  await closeApiResources();
  await database.close();
});

async function session(state: ItemState, extra: Partial<Parameters<typeof fabricateSession>[1]> = {}) {
  const s = await fabricateSession(db, { state, createdBy: operator.user.id, ...extra });
  made.push(s);
  return s;
}

function act(name: SessionCommandName, s: FabricatedSession, body?: unknown) {
  return call(routes.actions[name], `/api/v1/sessions/${s.session.id}/${name}`, {
    token: operator.token,
    params: { id: s.session.id },
    body,
    method: "POST",
  });
}

const okAudits = (action: string, sessionId: string) =>
  sql`select actor_user_id, actor_label from audit_log where action = ${action} and outcome = 'ok' and target_id = ${sessionId}`;

describe("session actions reach the engine", () => {
  it("switch-now marks a VM waiting to switch, audited once under the caller's name", async () => {
    const s = await session("ready_to_switch");
    const response = await act("switch-now", s);
    expect(response.status).toBe(200);
    const result = (await response.json()) as { sessionId: string; itemIds: string[]; message: string };
    expect(result).toMatchObject({ sessionId: s.session.id, itemIds: [s.item.id] });
    expect((await itemOf(db, s.item.id)).switchRequested).toBe(true);
    expect(await okAudits("failback.switch_now", s.session.id)).toEqual([
      { actor_user_id: operator.user.id, actor_label: operator.user.email },
    ]);
  });

  it("commit starts the commit plan of a switched VM; a second commit is a typed 409", async () => {
    const s = await session("switched");
    expect((await act("commit", s)).status).toBe(200);
    expect((await itemOf(db, s.item.id)).activePlan).toBe("commit");
    const again = await act("commit", s);
    expect(again.status).toBe(409);
    expect((await errorOf(again)).code).toBe("INVALID_STATE");
    expect((await okAudits("failback.commit", s.session.id)).length).toBe(1);
  });

  it("commit before the switch is INVALID_STATE and changes nothing (S7)", async () => {
    const s = await session("ready_to_switch");
    const digest = await fingerprint(sql, operator.user.id, [s.session.id]);
    const response = await act("commit", s, { itemId: s.item.id });
    expect(response.status).toBe(409);
    expect((await errorOf(response)).code).toBe("INVALID_STATE");
    expect(await fingerprint(sql, operator.user.id, [s.session.id])).toBe(digest);
  });

  it("undo after the switch starts the undo plan", async () => {
    const s = await session("switched");
    expect((await act("undo", s, { itemId: s.item.id })).status).toBe(200);
    expect((await itemOf(db, s.item.id)).activePlan).toBe("undo_after_switch");
  });

  it("cancel of a pending VM starts the cancel plan", async () => {
    const s = await session("pending");
    expect((await act("cancel", s)).status).toBe(200);
    expect((await itemOf(db, s.item.id)).activePlan).toBe("cancel_phase1");
  });

  it("retry returns a VM that needs attention to where it stopped", async () => {
    const s = await session("needs_attention", { activePlan: "phase1", resumeState: "phase1" });
    expect((await act("retry", s)).status).toBe(200);
    expect((await itemOf(db, s.item.id)).state).toBe("phase1");
    expect((await okAudits("failback.retry", s.session.id)).length).toBe(1);
  });

  it("reschedule moves the switch time, stored in UTC with its zone", async () => {
    const s = await session("phase1", { switchMode: "scheduled", schedule: true });
    const day = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10);
    const response = await act("reschedule", s, { local: `${day}T09:30`, timeZone: "Asia/Tokyo" });
    expect(response.status).toBe(200);
    const [schedule] = await db.select().from(switchSchedules).where(eq(switchSchedules.sessionId, s.session.id));
    expect(schedule?.timeZone).toBe("Asia/Tokyo");
    expect(schedule?.runAt.toISOString()).toBe(new Date(`${day}T00:30:00Z`).toISOString());
  });

  it("reschedule refuses a time in the past and an unknown zone with field errors", async () => {
    const s = await session("phase1", { switchMode: "scheduled", schedule: true });
    const past = await act("reschedule", s, { local: "2020-01-01T10:00", timeZone: "Europe/Berlin" });
    expect(past.status).toBe(400);
    expect((await errorOf(past)).fieldErrors).toHaveProperty("local");
    const zone = await act("reschedule", s, { local: "2099-01-01T10:00", timeZone: "Mars/Olympus_Mons" });
    expect(zone.status).toBe(400);
    expect((await errorOf(zone)).fieldErrors).toHaveProperty("timeZone");
  });

  it("cancel-schedule turns the session to manual switching", async () => {
    const s = await session("phase1", { switchMode: "scheduled", schedule: true });
    expect((await act("cancel-schedule", s)).status).toBe(200);
    const [row] = await db.select().from(failbackSessions).where(eq(failbackSessions.id, s.session.id));
    expect(row?.switchMode).toBe("manual");
  });
});

describe("keeping to the session in the path (S2)", () => {
  it("refuses an item of another session as NOT_FOUND, touching neither", async () => {
    const mine = await session("switched");
    const theirs = await session("switched");
    const digest = await fingerprint(sql, operator.user.id, [mine.session.id, theirs.session.id]);
    const response = await act("commit", mine, { itemId: theirs.item.id });
    expect(response.status).toBe(404);
    expect((await errorOf(response)).code).toBe("NOT_FOUND");
    expect(await fingerprint(sql, operator.user.id, [mine.session.id, theirs.session.id])).toBe(digest);
  });

  it("answers an unknown session id with 404", async () => {
    const id = "00000000-0000-4000-8000-000000000404";
    const response = await call(routes.actions.commit, `/api/v1/sessions/${id}/commit`, {
      token: operator.token,
      params: { id },
      method: "POST",
    });
    expect(response.status).toBe(404);
    expect(
      (await call(routes.getSession, `/api/v1/sessions/${id}`, { token: operator.token, params: { id } })).status,
    ).toBe(404);
  });
});

describe("reading sessions", () => {
  it("lists sessions and filters them by state", async () => {
    const s = await session("ready_to_switch");
    const response = await call(routes.listSessions, "/api/v1/sessions?state=ready_to_switch&limit=500", {
      token: operator.token,
    });
    const { sessions } = (await response.json()) as { sessions: { id: string; state: string }[] };
    expect(sessions.map((x) => x.id)).toContain(s.session.id);
    expect(new Set(sessions.map((x) => x.state))).toEqual(new Set(["ready_to_switch"]));
  });

  it("shows one session with its items", async () => {
    const s = await session("switched");
    const response = await call(routes.getSession, `/api/v1/sessions/${s.session.id}`, {
      token: operator.token,
      params: { id: s.session.id },
    });
    const detail = (await response.json()) as {
      session: { id: string; state: string };
      items: { id: string; state: string; replicaId: string }[];
    };
    expect(detail.session).toMatchObject({ id: s.session.id, state: "switched" });
    expect(detail.items).toEqual([
      expect.objectContaining({ id: s.item.id, state: "switched", replicaId: s.replicaId }),
    ]);
  });

  it("filters replicas by name, site and state", async () => {
    const s = await session("ready_to_switch");
    const detail = (await (
      await call(routes.getReplica, `/api/v1/replicas/${s.replicaId}`, {
        token: operator.token,
        params: { id: s.replicaId },
      })
    ).json()) as { replica: { sourceVmName: string; sourceSiteName: string; state: string } };
    const { sourceVmName, sourceSiteName, state } = detail.replica;
    const list = async (query: string) =>
      (
        (await (await call(routes.listReplicas, `/api/v1/replicas?${query}`, { token: operator.token })).json()) as {
          replicas: { id: string }[];
        }
      ).replicas.map((r) => r.id);
    expect(await list(`name=${encodeURIComponent(sourceVmName.toUpperCase())}`)).toEqual([s.replicaId]);
    expect(await list(`site=${encodeURIComponent(sourceSiteName)}`)).toEqual([s.replicaId]);
    expect(
      await list(`site=${encodeURIComponent(sourceSiteName)}&state=${state === "ready" ? "failover" : "ready"}`),
    ).toEqual([]);
  });
});
