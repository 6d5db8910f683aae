// Guest shutdown at the switch, both paths of the behaviour page, in one session of two VMs (run side by side):
// a replica running a real (tiny Linux) guest shuts down gracefully when asked; one that declares a guest agent
// but never answers is powered off when the session's timeout runs out, with a warning in the session log.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GUEST_READY_MARKER } from "@/lib/guest/build-guest";
import { and, eq, sql } from "drizzle-orm";
import { events } from "@/lib/db/schema";
import { testDatabase } from "@/lib/testing/db";
import type { Engine } from "./index";
import { sameContent, sessionState, topFile, waitForItem, type TestLab } from "./testing/harness";
import { startTestEngine, type TestEngine } from "./testing/test-engine";

const database = testDatabase();
const db = database.db;
let lab: TestLab;
let engine: Engine;
let setup: TestEngine | undefined;

beforeAll(async () => {
  setup = await startTestEngine(database, [
    { id: "g-tiny", name: "g-tiny", tinyGuest: true, guestAgent: true, diskUnits: [1] },
    { id: "g-mute", name: "g-mute", tinyGuest: false, guestAgent: true, diskUnits: [1] },
  ]);
  ({ lab, engine } = setup);
}, 240_000);

afterAll(async () => {
  await (setup ? setup.close() : database.close());
});

describe("replica shutdown at the switch", () => {
  it("is graceful for a guest that answers and forced after the timeout for one that does not", async () => {
    // The tiny guest answers shutdown requests once it has booted (it says so on its serial console).
    const serialLog = path.join(lab.dr.site.runDir("g-tiny-replica"), "serial.log");
    const deadline = Date.now() + 90_000;
    while (!(fs.existsSync(serialLog) && fs.readFileSync(serialLog, "utf8").includes(GUEST_READY_MARKER))) {
      if (Date.now() > deadline) throw new Error("the tiny guest did not boot within 90 s");
      await new Promise((r) => setTimeout(r, 250));
    }
    const started = await engine.start(
      { userId: null, label: "test" },
      {
        items: [
          { replicaId: lab.replicaIds["g-tiny"] as string, target: "original" },
          { replicaId: lab.replicaIds["g-mute"] as string, target: "original" },
        ],
        switchMode: "auto",
        powerOnAfter: false,
        shutdownTimeoutSeconds: 6,
      },
    );
    const [tinyItem, muteItem] = started.itemIds as [string, string];
    await Promise.all([
      waitForItem(db, tinyItem, ["switched"], 150_000),
      waitForItem(db, muteItem, ["switched"], 150_000),
    ]);
    expect(await sessionState(db, started.sessionId)).toBe("switched");

    const shutdownOf = async (itemId: string) => {
      const [row] = await db
        .select({ payload: events.payload })
        .from(events)
        .where(
          and(
            eq(events.itemId, itemId),
            eq(events.type, "step.done"),
            sql`${events.payload}->>'kind' = 'shutdown_replica'`,
          ),
        );
      return (row?.payload.detail ?? {}) as { path?: string; waitedMs?: number };
    };
    expect((await shutdownOf(tinyItem)).path).toBe("graceful");
    const mute = await shutdownOf(muteItem);
    expect(mute.path).toBe("timeout_forced");
    expect(mute.waitedMs).toBeGreaterThanOrEqual(6000);
    const warnings = await db
      .select()
      .from(events)
      .where(and(eq(events.itemId, muteItem), eq(events.type, "replica.shutdown_timeout")));
    expect(warnings).toHaveLength(1);
    for (const vm of ["g-tiny", "g-mute"]) {
      expect(
        await sameContent(topFile(lab.production, vm, "vda"), topFile(lab.dr, `${vm}-replica`, "vda")),
      ).toMatchObject({ same: true });
    }
  }, 200_000);
});
