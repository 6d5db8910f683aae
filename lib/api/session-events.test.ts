// The events route: server-sent events with Last-Event-ID replay and live delivery, closed as soon as the
// caller stops being allowed (S9); and the paged JSON form.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabase } from "@/lib/testing/db";
import { revokeTokenOfUser } from "@/lib/db/queries/api-tokens";
import { updateUserAccess } from "@/lib/db/queries/users";
import { appendEvent } from "@/lib/events/events";
import {
  call,
  errorOf,
  fabricateSession,
  finishFabricated,
  userWithToken,
  type FabricatedSession,
  type TokenUser,
} from "./testing/fixtures";
import { closeApiResources, loadApiRoutes, type ApiRoutes } from "./testing/routes";

const database = testDatabase();
const { db } = database;
let routes: ApiRoutes;
let admin: TokenUser;
let s: FabricatedSession;
let eventIds: number[] = [];

beforeAll(async () => {
  routes = await loadApiRoutes();
  admin = await userWithToken(db, "admin");
  s = await fabricateSession(db, { state: "phase1", createdBy: admin.user.id });
  const page = await call(routes.events, `/api/v1/sessions/${s.session.id}/events?format=json`, {
    token: admin.token,
    params: { id: s.session.id },
  });
  eventIds = ((await page.json()) as { events: { id: number }[] }).events.map((e) => e.id);
});
afterAll(async () => {
  await finishFabricated(db, [s]);
  await closeApiResources();
  await database.close();
});

/** Reads a stream until `until` holds for the text so far, the stream ends, or the time is up. */
async function readUntil(
  body: ReadableStream<Uint8Array>,
  until: (text: string) => boolean,
  ms = 10_000,
): Promise<{ text: string; ended: boolean }> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const deadline = Date.now() + ms;
  try {
    while (!until(text)) {
      const left = deadline - Date.now();
      if (left <= 0) return { text, ended: false };
      const next = await Promise.race([
        reader.read(),
        new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), left)),
      ]);
      if (next === "timeout") return { text, ended: false };
      if (next.done) return { text, ended: true };
      text += decoder.decode(next.value, { stream: true });
    }
    return { text, ended: false };
  } finally {
    reader.releaseLock();
  }
}

const idsIn = (text: string) => [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));

function openStream(token: string, options: { lastEventId?: number; signal?: AbortSignal } = {}) {
  return call(routes.events, `/api/v1/sessions/${s.session.id}/events`, {
    token,
    params: { id: s.session.id },
    headers: options.lastEventId ? { "last-event-id": String(options.lastEventId) } : {},
    signal: options.signal,
  });
}

describe("paged JSON", () => {
  it("pages through the events with after and limit", async () => {
    expect(eventIds.length).toBe(2);
    const page = async (query: string) =>
      (await (
        await call(routes.events, `/api/v1/sessions/${s.session.id}/events?format=json&${query}`, {
          token: admin.token,
          params: { id: s.session.id },
        })
      ).json()) as {
        events: { id: number; type: string }[];
        nextAfter: number;
        more: boolean;
      };
    const first = await page("limit=1");
    expect(first).toMatchObject({
      events: [{ id: eventIds[0], type: "session.created" }],
      nextAfter: eventIds[0],
      more: true,
    });
    const second = await page(`after=${first.nextAfter}&limit=1`);
    expect(second.events.map((e) => e.id)).toEqual([eventIds[1]]);
  });

  it("refuses a bad page size or position with field errors", async () => {
    for (const query of [
      "format=json&limit=0",
      "format=json&limit=501",
      "format=json&limit=ten",
      "format=json&after=-1",
      "format=json&after=1e400",
      "format=xml",
    ]) {
      const response = await call(routes.events, `/api/v1/sessions/${s.session.id}/events?${query}`, {
        token: admin.token,
        params: { id: s.session.id },
      });
      expect(response.status, query).toBe(400);
      expect((await errorOf(response)).code).toBe("VALIDATION");
    }
  });
});

describe("server-sent events", () => {
  it("replays after Last-Event-ID, then delivers new events live", async () => {
    const controller = new AbortController();
    const response = await openStream(admin.token, { lastEventId: eventIds[0], signal: controller.signal });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const body = response.body as ReadableStream<Uint8Array>;
    const replay = await readUntil(body, (t) => idsIn(t).length >= 1);
    expect(idsIn(replay.text)).toEqual([eventIds[1]]);
    const live = await db.transaction((tx) =>
      appendEvent(tx, { sessionId: s.session.id, type: "test.live", payload: { n: 1 } }),
    );
    const more = await readUntil(body, (t) => idsIn(t).includes(live));
    expect(more.text).toContain("event: test.live");
    controller.abort();
  });

  it("closes an open stream once its token is revoked", async () => {
    const viewer = await userWithToken(db, "viewer");
    const response = await openStream(viewer.token);
    const body = response.body as ReadableStream<Uint8Array>;
    await readUntil(body, (t) => idsIn(t).length >= 2);
    await revokeTokenOfUser(db, viewer.user.id, viewer.tokenId);
    expect((await readUntil(body, () => false, 12_000)).ended).toBe(true);
  });

  it("closes an open stream once its user is disabled", async () => {
    const operator = await userWithToken(db, "operator");
    const response = await openStream(operator.token);
    const body = response.body as ReadableStream<Uint8Array>;
    await readUntil(body, (t) => idsIn(t).length >= 2);
    await updateUserAccess(db, operator.user.id, { disabled: true });
    expect((await readUntil(body, () => false, 12_000)).ended).toBe(true);
  });

  it("refuses to open a stream for an unknown session", async () => {
    const id = "00000000-0000-4000-8000-000000000405";
    const response = await call(routes.events, `/api/v1/sessions/${id}/events`, { token: admin.token, params: { id } });
    expect(response.status).toBe(404);
  });
});
