// Events are rows written in the caller's transaction, announced by NOTIFY only when that transaction commits.
import crypto from "node:crypto";
import postgres from "postgres";
import { afterAll, describe, expect, inject, it } from "vitest";
import { failbackSessions } from "@/lib/db/schema";
import { testDatabase } from "@/lib/testing/db";
import { appendEvent, eventsAfter, eventsChannel } from "./events";

const database = testDatabase();
const listener = postgres(inject("databaseUrl"), { max: 1, onnotice: () => {} });

afterAll(async () => {
  await listener.end({ timeout: 5 });
  await database.close();
});

describe("events", () => {
  it("are announced after commit, never for a rolled-back change, and replay in order after an id", async () => {
    const [session] = await database.db.insert(failbackSessions).values({ switchMode: "manual" }).returning();
    const sessionId = session?.id as string;
    const heard: string[] = [];
    const subscription = await listener.listen(eventsChannel, (payload) => heard.push(payload));

    const first = await database.db.transaction((tx) =>
      appendEvent(tx, { sessionId, type: "test.one", payload: { n: 1 } }),
    );
    await database.db
      .transaction(async (tx) => {
        await appendEvent(tx, { sessionId, type: "test.rolled_back", payload: {} });
        throw new Error("roll back");
      })
      .catch(() => {});
    const second = await database.db.transaction((tx) =>
      appendEvent(tx, { sessionId, type: "test.two", payload: { n: 2 } }),
    );
    await new Promise((r) => setTimeout(r, 300));
    await subscription.unlisten();

    expect(heard.filter((id) => id === sessionId)).toHaveLength(2);
    expect((await eventsAfter(database.db, sessionId)).map((e) => e.type)).toEqual(["test.one", "test.two"]);
    expect((await eventsAfter(database.db, sessionId, first)).map((e) => e.id)).toEqual([second]);
    expect(await eventsAfter(database.db, crypto.randomUUID())).toEqual([]);
  });
});
