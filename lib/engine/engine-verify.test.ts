// Verification before anything runs on production: a block corrupted on production after the switch's copy is
// caught, the item stops in needs_attention naming the disk and region with production still off, and Retry
// copies the mismatched region again and verifies the whole disk before powering production on.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { and, eq } from "drizzle-orm";
import { events, failbackItems, failbackSteps } from "@/lib/db/schema";
import { testDatabase } from "@/lib/testing/db";
import type { Engine } from "./index";
import { sameContent, stepGate, topFile, waitForItem, type TestLab } from "./testing/harness";
import { startTestEngine, type TestEngine } from "./testing/test-engine";

const database = testDatabase();
const db = database.db;
let lab: TestLab;
let engine: Engine;
let setup: TestEngine | undefined;
const gate = stepGate("verify_production");
const admin = { userId: null, label: "test-admin" };

beforeAll(async () => {
  setup = await startTestEngine(
    database,
    [{ id: "v-app", name: "v-app", tinyGuest: false, guestAgent: false, diskUnits: [1] }],
    { beforeStep: (step) => gate.hook(step) },
  );
  ({ lab, engine } = setup);
}, 180_000);

afterAll(async () => {
  await (setup ? setup.close() : database.close());
});

describe("verification", () => {
  it("catches a corrupted production block, keeps production off, and a retry repairs and verifies", async () => {
    const started = await engine.start(admin, {
      items: [{ replicaId: lab.replicaIds["v-app"] as string, target: "original" }],
      switchMode: "auto",
      powerOnAfter: true,
      shutdownTimeoutSeconds: 2,
    });
    const itemId = started.itemIds[0] as string;
    await gate.reached;
    // Production is off and its working snapshot committed: damage one block, as a faulty disk would.
    const disk = await lab.production.openTopForWrite("v-app", "vda");
    try {
      await disk.write(5 * 1024 * 1024, Buffer.alloc(64 * 1024, 0x5a));
      await disk.flush();
    } finally {
      await disk.close();
    }
    gate.release();

    const stopped = await waitForItem(db, itemId, ["needs_attention"]);
    expect(stopped.attentionReason).toMatch(/vda differs .*bytes 5242880–5308415/);
    expect(stopped.resumeState).toBe("switching");
    expect(await lab.production.powerState("v-app")).toBe("off");
    const [verify] = await db
      .select()
      .from(failbackSteps)
      .where(and(eq(failbackSteps.itemId, itemId), eq(failbackSteps.name, "verify_production")));
    expect(verify).toMatchObject({ state: "failed", attempts: 1 });
    await expect(engine.commit(admin, started.sessionId)).rejects.toMatchObject({ code: "INVALID_STATE" });

    await engine.retry(admin, started.sessionId, itemId);
    await waitForItem(db, itemId, ["switched"]);
    expect(await lab.production.powerState("v-app")).toBe("running");
    expect(
      await sameContent(topFile(lab.production, "v-app", "vda"), topFile(lab.dr, "v-app-replica", "vda")),
    ).toMatchObject({ same: true });
    const resync = await db
      .select()
      .from(events)
      .where(and(eq(events.itemId, itemId), eq(events.type, "verification.resync")));
    expect(resync).toHaveLength(1);
    const [item] = await db.select().from(failbackItems).where(eq(failbackItems.id, itemId));
    expect(item?.attentionReason).toBeNull();
  }, 120_000);
});
