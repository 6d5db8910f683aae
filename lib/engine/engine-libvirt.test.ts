// The engine end to end on libvirt domains (both lab sites on the test daemon, 16 MiB disks): the original VM
// with quick rollback and a manual switch, then commit; another failback, then undo after the switch; and a
// new-location failback onto another libvirt host (same daemon, its own storage folder). After each switch
// production's disks equal the replica's at switch time (`qemu-img compare -U` of the top files, I1), every write
// made on the running replica is on production (I2), and the two never ran at once (I3).
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { and, eq, sql } from "drizzle-orm";
import { events, failbackSteps, replicas, vms } from "@/lib/db/schema";
import type { Database, Db } from "@/lib/db/client";
import { describeWithLibvirt } from "@/lib/testing/libvirt";
import { testDatabase } from "@/lib/testing/db";
import type { Engine } from "./index";
import { eventTypes, sameContent, snapshotCopy, waitForItem } from "./testing/harness";
import { generateReplicaWrites, watchNeverBothRunning } from "./testing/invariants";
import {
  libvirtTopFile,
  missingLibvirtWrites,
  startLibvirtTestEngine,
  type LibvirtTestEngine,
  type LibvirtTestLab,
} from "./testing/libvirt-lab";

const admin = { userId: null, label: "test-admin" };

describeWithLibvirt("failback on libvirt domains", () => {
  // Opened here rather than at collection: a run without libvirtd skips the suite and never connects.
  let database: Database | undefined;
  let db: Db;
  let setup: LibvirtTestEngine | undefined;
  let lab: LibvirtTestLab;
  let engine: Engine;

  beforeAll(async () => {
    const started = Date.now();
    database = testDatabase();
    db = database.db;
    setup = await startLibvirtTestEngine(database, [
      { id: "lv-orig", name: "lv-orig", tinyGuest: false, guestAgent: false, diskUnits: [1, 1] },
      { id: "lv-undo", name: "lv-undo", tinyGuest: true, guestAgent: true, diskUnits: [1] },
      { id: "lv-new", name: "lv-new", tinyGuest: false, guestAgent: false, diskUnits: [1] },
    ]);
    ({ lab, engine } = setup);
    console.log(`[engine-libvirt] lab of 3 VMs built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, 300_000);

  afterAll(async () => {
    await (setup ? setup.close() : database?.close());
  }, 120_000);

  /** Each disk of `productionVm` equals the same disk of the replica (stopped at its switch-time state). */
  async function expectSameAsReplica(productionVm: string, replicaVm: string, disks: string[]) {
    for (const disk of disks) {
      const compared = await sameContent(
        await libvirtTopFile(lab.production, productionVm, disk),
        await libvirtTopFile(lab.dr, replicaVm, disk),
      );
      expect(compared, `${disk}: ${compared.output}`).toMatchObject({ same: true });
    }
  }

  const failbackSnapshots = async (vmId: string) =>
    (await lab.dr.listSnapshots(vmId)).map((s) => s.name).filter((n) => n.startsWith("fb-"));

  /** One line per item for the run's log: how long each step took (libvirt's own costs show here). */
  async function logStepTimings(label: string, itemId: string) {
    const steps = await db
      .select()
      .from(failbackSteps)
      .where(eq(failbackSteps.itemId, itemId))
      .orderBy(failbackSteps.startedAt);
    const timed = steps
      .filter((s) => s.startedAt && s.finishedAt && s.state === "done")
      .map(
        (s) => `${s.name} ${(((s.finishedAt as Date).getTime() - (s.startedAt as Date).getTime()) / 1000).toFixed(1)}`,
      );
    console.log(`[engine-libvirt] ${label} steps (s): ${timed.join(", ")}`);
  }

  async function stepDetail(itemId: string, kind: string) {
    const [row] = await db
      .select({ payload: events.payload })
      .from(events)
      .where(and(eq(events.itemId, itemId), eq(events.type, "step.done"), sql`${events.payload}->>'kind' = ${kind}`));
    return (row?.payload.detail ?? {}) as Record<string, unknown>;
  }

  it("original VM, quick rollback, manual switch, commit", async () => {
    const started = Date.now();
    const replicaId = lab.replicaIds["lv-orig"] as string;
    const sourceVm = lab.sourceVmIds["lv-orig"] as string;
    const replicaVm = lab.replicaVmIds["lv-orig"] as string;
    const disks = ["vda", "vdb"];
    const request = {
      items: [{ replicaId, target: "original" as const }],
      quickRollback: true,
      switchMode: "manual" as const,
      powerOnAfter: true,
      shutdownTimeoutSeconds: 5,
    };
    const check = await engine.check(admin, request);
    expect(check.preflight[0]?.quickRollback).toEqual({ allowed: true });

    const watcher = watchNeverBothRunning(lab.production, sourceVm, lab.dr, replicaVm);
    const session = await engine.start(admin, { ...request, reason: "test: libvirt quick rollback" });
    const itemId = session.itemIds[0] as string;
    await waitForItem(db, itemId, ["ready_to_switch"], 180_000);
    expect(await lab.dr.powerState(replicaVm)).toBe("running");
    // Quick rollback read the source's change tracking (libvirt checkpoints): only the changed regions.
    const [difference] = await db
      .select()
      .from(failbackSteps)
      .where(and(eq(failbackSteps.itemId, itemId), eq(failbackSteps.name, "calculate_difference")));
    const plans = (difference?.checkpoint as { plans: { regions: { length: number }[] | null }[] }).plans;
    expect(plans.every((p) => p.regions !== null)).toBe(true);
    const compared = plans.reduce((sum, p) => sum + (p.regions ?? []).reduce((s, r) => s + r.length, 0), 0);
    expect(compared).toBeGreaterThan(0);
    expect(compared).toBeLessThan(16 * 1024 * 1024);

    // Users keep working on the replica while it is ready to switch.
    const writes = await generateReplicaWrites(lab.dr, replicaVm, disks, 12, 7);
    await engine.switchNow(admin, session.sessionId);
    await waitForItem(db, itemId, ["switched"], 180_000);
    expect((await watcher.stop()).bothRunning).toBe(0);
    expect(await lab.dr.powerState(replicaVm)).toBe("off");
    expect(await lab.production.powerState(sourceVm)).toBe("running");
    await expectSameAsReplica(sourceVm, replicaVm, disks);
    expect(await missingLibvirtWrites(lab.production, sourceVm, writes)).toEqual([]);
    const types = await eventTypes(db, session.sessionId, itemId);
    expect(types).toContain("verification.result");
    expect(types.filter((t) => t === "step.failed")).toEqual([]);

    await engine.commit(admin, session.sessionId);
    await waitForItem(db, itemId, ["committed"], 120_000);
    const [after] = await db.select().from(replicas).where(eq(replicas.id, replicaId));
    expect(after).toMatchObject({ state: "ready", replicationOnHold: false });
    // Production runs on its own disks again: no failback layer is left on it.
    expect((await lab.production.listSnapshots(sourceVm)).filter((s) => s.name.startsWith("fb-"))).toEqual([]);
    await logStepTimings("quick rollback", itemId);
    console.log(
      `[engine-libvirt] quick rollback + manual switch + commit: ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  }, 420_000);

  it("another failback, then undo after the switch: the replica runs again from its switch-time state", async () => {
    const started = Date.now();
    const replicaId = lab.replicaIds["lv-undo"] as string;
    const sourceVm = lab.sourceVmIds["lv-undo"] as string;
    const replicaVm = lab.replicaVmIds["lv-undo"] as string;
    const watcher = watchNeverBothRunning(lab.production, sourceVm, lab.dr, replicaVm);
    const session = await engine.start(admin, {
      items: [{ replicaId, target: "original" }],
      switchMode: "manual",
      powerOnAfter: true,
      // The tiny guest answers ACPI once it has booted; the provider asks again every second until then.
      shutdownTimeoutSeconds: 60,
    });
    const itemId = session.itemIds[0] as string;
    await waitForItem(db, itemId, ["ready_to_switch"], 180_000);
    const writes = await generateReplicaWrites(lab.dr, replicaVm, ["vda"], 6, 23);
    await engine.switchNow(admin, session.sessionId);
    await waitForItem(db, itemId, ["switched"], 180_000);
    expect((await stepDetail(itemId, "shutdown_replica")).path).toBe("graceful");
    await expectSameAsReplica(sourceVm, replicaVm, ["vda"]);
    expect(await missingLibvirtWrites(lab.production, sourceVm, writes)).toEqual([]);
    const atSwitch = await snapshotCopy(
      await libvirtTopFile(lab.dr, replicaVm, "vda"),
      path.join(lab.dir, "lv-undo-at-switch.qcow2"),
    );

    await engine.undo(admin, session.sessionId);
    await waitForItem(db, itemId, ["undone"], 180_000);
    expect((await watcher.stop()).bothRunning).toBe(0);
    expect(await lab.production.powerState(sourceVm)).toBe("off");
    expect(await lab.dr.powerState(replicaVm)).toBe("running");
    const back = await sameContent(await libvirtTopFile(lab.dr, replicaVm, "vda"), atSwitch);
    expect(back, back.output).toMatchObject({ same: true });
    expect(await failbackSnapshots(replicaVm)).toEqual([]);
    const [after] = await db.select().from(replicas).where(eq(replicas.id, replicaId));
    expect(after?.state).toBe("failover");
    await expect(engine.undo(admin, session.sessionId, itemId)).rejects.toMatchObject({ code: "INVALID_STATE" });
    await logStepTimings("undo", itemId);
    console.log(`[engine-libvirt] failback + undo after switch: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, 420_000);

  it("new location: a new domain on another libvirt host of the same daemon becomes production", async () => {
    const started = Date.now();
    const replicaId = lab.replicaIds["lv-new"] as string;
    const replicaVm = lab.replicaVmIds["lv-new"] as string;
    const host = await lab.addProductionHost("prod-libvirt-02", "elsewhere");
    const name = lab.domainName("lv-new-moved");
    const session = await engine.start(admin, {
      items: [{ replicaId, target: "new_location", newLocation: { hostId: host.id, name, memoryMib: 96 } }],
      switchMode: "manual",
      powerOnAfter: false,
      shutdownTimeoutSeconds: 3,
    });
    const itemId = session.itemIds[0] as string;
    const ready = await waitForItem(db, itemId, ["ready_to_switch"], 180_000);
    const [target] = await db
      .select()
      .from(vms)
      .where(eq(vms.id, ready.targetVmId as string));
    if (!target) throw new Error("the new-location VM was not recorded");
    expect(target).toMatchObject({ hostId: host.id, name, memoryMib: 96 });
    const newVm = target.externalId;
    const info = await lab.production.getVm(newVm);
    expect(info.disks.map((d) => path.dirname(d.locator))).toEqual([host.storageDir]);

    const writes = await generateReplicaWrites(lab.dr, replicaVm, ["vda"], 6, 11);
    await engine.switchNow(admin, session.sessionId);
    const switched = await waitForItem(db, itemId, ["switched"], 180_000);
    expect(switched.targetVmId).toBe(target.id);
    expect(await lab.production.powerState(newVm)).toBe("off");
    await expectSameAsReplica(newVm, replicaVm, ["vda"]);
    expect(await missingLibvirtWrites(lab.production, newVm, writes)).toEqual([]);

    await engine.commit(admin, session.sessionId);
    await waitForItem(db, itemId, ["committed"], 120_000);
    const [after] = await db.select().from(replicas).where(eq(replicas.id, replicaId));
    expect(after).toMatchObject({ state: "ready", sourceVmId: target.id });
    await logStepTimings("new location", itemId);
    console.log(`[engine-libvirt] new location + commit: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, 420_000);
});
