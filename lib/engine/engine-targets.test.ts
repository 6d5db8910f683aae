// Every target kind and switch mode once, on real QEMU and qcow2: recovered + auto + undo after switch (R7),
// new location + scheduled (a non-UTC zone) + commit with the identity swap, cancel during phase 1 (production's
// base disks untouched), and undo from ready_to_switch after a quick-rollback phase 1.
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { failbackItems, failbackSteps, replicas, vms } from "@/lib/db/schema";
import { testDatabase } from "@/lib/testing/db";
import type { Engine } from "./index";
import { snapshotNames } from "./names";
import {
  addRecoveredVm,
  eventTypes,
  localTimeIn,
  productionHostId,
  sameContent,
  snapshotCopy,
  stepGate,
  topFile,
  waitForItem,
  type TestLab,
} from "./testing/harness";
import { startTestEngine, type TestEngine } from "./testing/test-engine";
import { generateReplicaWrites, missingWrites, watchNeverBothRunning } from "./testing/invariants";

const database = testDatabase();
const db = database.db;
let lab: TestLab;
let engine: Engine;
let setup: TestEngine | undefined;
const admin = { userId: null, label: "test-admin" };
const cancelGate = stepGate("transfer_changes");
const small = (id: string) => ({ id, name: id, tinyGuest: false, guestAgent: false, diskUnits: [1] });

beforeAll(async () => {
  setup = await startTestEngine(database, [small("t-rec"), small("t-new"), small("t-cancel"), small("t-undo")], {
    // Only the cancel test's item is held; the gate lets everything else through (it is armed once).
    beforeStep: async (step) => {
      if (step === "transfer_changes" && holdNextTransfer) {
        holdNextTransfer = false;
        await cancelGate.hook(step);
      }
    },
  });
  ({ lab, engine } = setup);
}, 180_000);
let holdNextTransfer = false;

afterAll(async () => {
  await (setup ? setup.close() : database.close());
});

describe("every target and switch mode", () => {
  it("recovered VM, auto switch, then undo: the replica runs again from its switch-time state (R7)", async () => {
    const replicaId = lab.replicaIds["t-rec"] as string;
    const [before] = await db.select().from(replicas).where(eq(replicas.id, replicaId));
    const recoveredId = await addRecoveredVm(db, lab, "t-rec", "t-rec-restored");
    const watcher = watchNeverBothRunning(lab.production, "t-rec-restored", lab.dr, "t-rec-replica");
    const started = await engine.start(admin, {
      items: [{ replicaId, target: "recovered", recoveredVmId: recoveredId }],
      switchMode: "auto",
      powerOnAfter: true,
      shutdownTimeoutSeconds: 3,
    });
    const itemId = started.itemIds[0] as string;
    await waitForItem(db, itemId, ["switched"]);
    expect(
      await sameContent(topFile(lab.production, "t-rec-restored", "vda"), topFile(lab.dr, "t-rec-replica", "vda")),
    ).toMatchObject({ same: true });
    const [swapped] = await db.select().from(replicas).where(eq(replicas.id, replicaId));
    expect(swapped?.sourceVmId).toBe(recoveredId);
    const [oldSource] = await db
      .select()
      .from(vms)
      .where(eq(vms.id, before?.sourceVmId as string));
    expect(oldSource?.retiredAt).not.toBeNull();

    await engine.undo(admin, started.sessionId);
    await waitForItem(db, itemId, ["undone"]);
    expect((await watcher.stop()).bothRunning).toBe(0);
    expect(await lab.production.powerState("t-rec-restored")).toBe("off");
    expect(await lab.dr.powerState("t-rec-replica")).toBe("running");
    // Back at its switch-time state: what production received at the switch.
    expect(
      await sameContent(topFile(lab.dr, "t-rec-replica", "vda"), topFile(lab.production, "t-rec-restored", "vda")),
    ).toMatchObject({ same: true });
    expect((await lab.dr.listSnapshots("t-rec-replica")).map((s) => s.name).filter((n) => n.startsWith("fb-"))).toEqual(
      [],
    );
    const [after] = await db.select().from(replicas).where(eq(replicas.id, replicaId));
    expect(after).toMatchObject({ state: "failover", sourceVmId: before?.sourceVmId });
    const [restored] = await db
      .select()
      .from(vms)
      .where(eq(vms.id, before?.sourceVmId as string));
    expect(restored?.retiredAt).toBeNull();
  });

  it("new location, scheduled switch entered in America/New_York, commit: the new VM is production", async () => {
    const replicaId = lab.replicaIds["t-new"] as string;
    const hostId = await productionHostId(db, lab);
    const runAt = new Date(Date.now() + 12_000);
    const started = await engine.start(admin, {
      items: [{ replicaId, target: "new_location", newLocation: { hostId, name: "t-new-moved", memoryMib: 96 } }],
      switchMode: "scheduled",
      switchAt: { local: localTimeIn("America/New_York", runAt), timeZone: "America/New_York" },
      powerOnAfter: false,
      shutdownTimeoutSeconds: 3,
    });
    expect(Math.abs((started.runAt as Date).getTime() - runAt.getTime())).toBeLessThan(1000);
    const itemId = started.itemIds[0] as string;
    await waitForItem(db, itemId, ["ready_to_switch"]);
    const writes = await generateReplicaWrites(lab.dr, "t-new-replica", ["vda"], 6, 11);
    // Waits for the time: nothing switches before it.
    const [waiting] = await db.select().from(failbackItems).where(eq(failbackItems.id, itemId));
    if (Date.now() < runAt.getTime() - 1000) expect(waiting?.state).toBe("ready_to_switch");
    const switched = await waitForItem(db, itemId, ["switched"]);
    const switchedAt = Date.now();
    expect(switchedAt).toBeGreaterThanOrEqual(runAt.getTime());
    expect((await lab.production.getVm("t-new-moved")).memoryMib).toBe(96);
    expect(
      await sameContent(topFile(lab.production, "t-new-moved", "vda"), topFile(lab.dr, "t-new-replica", "vda")),
    ).toMatchObject({ same: true });
    expect(await missingWrites(lab.production, "t-new-moved", writes)).toEqual([]);
    expect(switched.targetVmId).not.toBeNull();
    const types = await eventTypes(db, started.sessionId);
    expect(types.filter((t) => t === "schedule.started")).toHaveLength(1);

    await engine.commit(admin, started.sessionId);
    await waitForItem(db, itemId, ["committed"]);
    const [after] = await db.select().from(replicas).where(eq(replicas.id, replicaId));
    expect(after).toMatchObject({ state: "ready", sourceVmId: switched.targetVmId });
  });

  it("cancel during phase 1 stops at a safe point and leaves production's base disks untouched", async () => {
    const replicaId = lab.replicaIds["t-cancel"] as string;
    const before = await snapshotCopy(
      topFile(lab.production, "t-cancel", "vda"),
      path.join(lab.dir, "t-cancel-before.qcow2"),
    );
    holdNextTransfer = true;
    const started = await engine.start(admin, {
      items: [{ replicaId, target: "original" }],
      switchMode: "manual",
      powerOnAfter: true,
    });
    const itemId = started.itemIds[0] as string;
    await cancelGate.reached;
    await engine.cancel(admin, started.sessionId);
    await expect(engine.switchNow(admin, started.sessionId, itemId)).rejects.toMatchObject({ code: "INVALID_STATE" });
    await new Promise((r) => setTimeout(r, 1500)); // the worker's heartbeat sees the request
    cancelGate.release();
    await waitForItem(db, itemId, ["cancelled"]);
    expect(await sameContent(topFile(lab.production, "t-cancel", "vda"), before)).toMatchObject({ same: true });
    const names = snapshotNames(started.sessionId);
    expect((await lab.production.listSnapshots("t-cancel")).map((s) => s.name)).not.toContain(names.work1);
    expect(
      (await lab.dr.listSnapshots("t-cancel-replica")).map((s) => s.name).filter((n) => n.startsWith("fb-")),
    ).toEqual([]);
    expect(await lab.dr.powerState("t-cancel-replica")).toBe("running");
    const [after] = await db.select().from(replicas).where(eq(replicas.id, replicaId));
    expect(after?.state).toBe("failover");
    const steps = await db.select().from(failbackSteps).where(eq(failbackSteps.itemId, itemId));
    expect(steps.filter((s) => s.phase === "cancel").every((s) => s.state === "done")).toBe(true);
  });

  it("quick rollback reads only the changed regions; undo from ready_to_switch merges the replica back while it runs", async () => {
    const replicaId = lab.replicaIds["t-undo"] as string;
    const check = await engine.check(admin, {
      items: [{ replicaId, target: "original" }],
      quickRollback: true,
      switchMode: "manual",
      powerOnAfter: true,
    });
    expect(check.preflight[0]?.quickRollback).toEqual({ allowed: true });
    const started = await engine.start(admin, {
      items: [{ replicaId, target: "original" }],
      quickRollback: true,
      switchMode: "manual",
      powerOnAfter: true,
    });
    const itemId = started.itemIds[0] as string;
    await waitForItem(db, itemId, ["ready_to_switch"]);
    const [transfer] = await db
      .select()
      .from(failbackSteps)
      .where(eq(failbackSteps.itemId, itemId))
      .then((rows) => rows.filter((s) => s.name === "calculate_difference"));
    const plans = (transfer?.checkpoint as { plans: { regions: { length: number }[] | null }[] }).plans;
    const compared = plans.reduce((sum, p) => sum + (p.regions ?? []).reduce((s, r) => s + r.length, 0), 0);
    expect(plans.every((p) => p.regions !== null)).toBe(true);
    expect(compared).toBeGreaterThan(0);
    expect(compared).toBeLessThan((16 * 1024 * 1024) / 2);

    await engine.undo(admin, started.sessionId);
    await waitForItem(db, itemId, ["undone"]);
    expect(await lab.dr.powerState("t-undo-replica")).toBe("running");
    expect(
      (await lab.dr.listSnapshots("t-undo-replica")).map((s) => s.name).filter((n) => n.startsWith("fb-")),
    ).toEqual([]);
    const [after] = await db.select().from(replicas).where(eq(replicas.id, replicaId));
    expect(after?.state).toBe("failover");
    // Undo after undo: a typed refusal.
    await expect(engine.undo(admin, started.sessionId, itemId)).rejects.toMatchObject({ code: "INVALID_STATE" });
  });
});
