// The data-to-move estimate from change tracking equals the regions quick rollback then compares, and the
// background refresh records it (and leaves replicas in a running failback alone).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { and, eq } from "drizzle-orm";
import { failbackSteps, replicas } from "@/lib/db/schema";
import { testDatabase } from "@/lib/testing/db";
import type { Engine } from "./index";
import { estimateReplica, refreshEstimates } from "./worker-main";
import { waitForItem, type TestLab } from "./testing/harness";
import { startTestEngine, type TestEngine } from "./testing/test-engine";

const database = testDatabase();
const db = database.db;
let lab: TestLab;
let engine: Engine;
let setup: TestEngine | undefined;

beforeAll(async () => {
  setup = await startTestEngine(database, [
    { id: "x-app", name: "x-app", tinyGuest: false, guestAgent: false, diskUnits: [1, 1] },
    { id: "x-other", name: "x-other", tinyGuest: false, guestAgent: false, diskUnits: [1] },
  ]);
  ({ lab, engine } = setup);
}, 180_000);

afterAll(async () => {
  await (setup ? setup.close() : database.close());
});

describe("data-to-move estimates", () => {
  it("match what quick rollback compares, and are refreshed in the background for replicas not in a failback", async () => {
    const replicaId = lab.replicaIds["x-app"] as string;
    const estimate = await estimateReplica(db, replicaId);
    expect(estimate.note).toBeNull();
    expect(estimate.bytes).toBeGreaterThan(0);
    expect(estimate.bytes).toBeLessThan(2 * 16 * 1024 * 1024);

    const started = await engine.start(
      { userId: null, label: "test" },
      { items: [{ replicaId, target: "original" }], quickRollback: true, switchMode: "manual", powerOnAfter: false },
    );
    await waitForItem(db, started.itemIds[0] as string, ["ready_to_switch"]);
    const [calculation] = await db
      .select()
      .from(failbackSteps)
      .where(
        and(eq(failbackSteps.itemId, started.itemIds[0] as string), eq(failbackSteps.name, "calculate_difference")),
      );
    const plans = (calculation?.checkpoint as { plans: { regions: { length: number }[] }[] }).plans;
    expect(plans.reduce((sum, p) => sum + p.regions.reduce((s, r) => s + r.length, 0), 0)).toBe(estimate.bytes);

    const refreshed = await refreshEstimates(db, {
      maxAgeMs: 0,
      limit: 100,
      only: Object.values(lab.replicaIds),
    });
    expect(refreshed).toBe(1);
    const [other] = await db
      .select()
      .from(replicas)
      .where(eq(replicas.id, lab.replicaIds["x-other"] as string));
    expect(other?.estimatedAt).not.toBeNull();
    expect(other?.estimatedChangedBytes).toBeGreaterThan(0);
    const [inFailback] = await db.select().from(replicas).where(eq(replicas.id, replicaId));
    expect(inFailback?.estimatedAt).toBeNull();
  }, 120_000);
});
