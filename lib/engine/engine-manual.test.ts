// The engine end to end on real QEMU and qcow2: target original, manual switch, commit — with I1 (production
// equals the replica at its final power-off), I2 (every write made on the running replica is on production)
// and I3 (never both running); and the illegal moves refused with typed errors and no hypervisor effect.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { auditLog, replicas } from "@/lib/db/schema";
import { testDatabase } from "@/lib/testing/db";
import type { Engine } from "./index";
import { eventTypes, sameContent, topFile, waitForItem, type TestLab } from "./testing/harness";
import { startTestEngine, type TestEngine } from "./testing/test-engine";
import { generateReplicaWrites, missingWrites, watchNeverBothRunning } from "./testing/invariants";

const database = testDatabase();
const db = database.db;
let lab: TestLab;
let engine: Engine;
let setup: TestEngine | undefined;
const admin = { userId: null, label: "test-admin" };

beforeAll(async () => {
  setup = await startTestEngine(database, [
    { id: "m-app", name: "m-app", tinyGuest: false, guestAgent: false, diskUnits: [1, 1] },
  ]);
  ({ lab, engine } = setup);
});

afterAll(async () => {
  await (setup ? setup.close() : database.close());
});

describe("failback to the original VM with a manual switch", () => {
  it("syncs while the replica runs, switches on request, verifies, and commits", async () => {
    const replicaId = lab.replicaIds["m-app"] as string;
    const watcher = watchNeverBothRunning(lab.production, "m-app", lab.dr, "m-app-replica");
    const started = await engine.start(admin, {
      items: [{ replicaId, target: "original" }],
      switchMode: "manual",
      powerOnAfter: true,
      shutdownTimeoutSeconds: 5,
      reason: "test: manual switch",
    });
    const itemId = started.itemIds[0] as string;
    await waitForItem(db, itemId, ["ready_to_switch"]);
    const [afterPhase1] = await db.select().from(replicas).where(eq(replicas.id, replicaId));
    expect(afterPhase1?.state).toBe("ready_to_switch");
    expect(await lab.dr.powerState("m-app-replica")).toBe("running");

    // Illegal moves before the switch: typed errors, nothing changes.
    await expect(engine.commit(admin, started.sessionId)).rejects.toMatchObject({ code: "INVALID_STATE" });
    await expect(
      engine.start(admin, { items: [{ replicaId, target: "original" }], switchMode: "manual", powerOnAfter: true }),
    ).rejects.toMatchObject({ code: "CONFLICT" });

    // Users keep working on the replica while it is ready to switch.
    const writes = await generateReplicaWrites(lab.dr, "m-app-replica", ["vda", "vdb"], 12, 7);

    await engine.switchNow(admin, started.sessionId);
    await waitForItem(db, itemId, ["switched"]);
    const states = await watcher.stop();
    expect(states.bothRunning).toBe(0);

    expect(await lab.dr.powerState("m-app-replica")).toBe("off");
    expect(await lab.production.powerState("m-app")).toBe("running");
    for (const disk of ["vda", "vdb"]) {
      const compared = await sameContent(
        topFile(lab.production, "m-app", disk),
        topFile(lab.dr, "m-app-replica", disk),
      );
      expect(compared, compared.output).toMatchObject({ same: true });
    }
    expect(await missingWrites(lab.production, "m-app", writes)).toEqual([]);
    const [afterSwitch] = await db.select().from(replicas).where(eq(replicas.id, replicaId));
    expect(afterSwitch?.state).toBe("failback");
    const types = await eventTypes(db, started.sessionId, itemId);
    expect(types).toContain("verification.result");
    expect(types.filter((t) => t === "step.failed")).toEqual([]);

    await engine.commit(admin, started.sessionId);
    await waitForItem(db, itemId, ["committed"]);
    const [afterCommit] = await db.select().from(replicas).where(eq(replicas.id, replicaId));
    expect(afterCommit).toMatchObject({ state: "ready", replicationOnHold: false });
    await expect(engine.undo(admin, started.sessionId)).rejects.toMatchObject({ code: "INVALID_STATE" });
    const audit = await db
      .select({ action: auditLog.action })
      .from(auditLog)
      .where(eq(auditLog.targetId, started.sessionId));
    expect(audit.map((a) => a.action)).toEqual(
      expect.arrayContaining(["failback.start", "failback.switch_now", "failback.commit"]),
    );
  });
});
