// Snapshot steps on the deterministic names of names.ts: working snapshots on production, protective ones on
// the replica. Every provider call here is an ensure (exists → nothing; gone → nothing).
import { eq } from "drizzle-orm";
import { upsertDisk, upsertVm } from "@/lib/db/queries/estate";
import { failbackItems } from "@/lib/db/schema";
import type { SnapshotSlot } from "../plans";
import { storageOf } from "../providers";
import { requireTarget, type ItemContext } from "../context";
import type { StepImpl } from "./step";

function slotName(ctx: ItemContext, slot: SnapshotSlot | undefined): string {
  if (!slot) throw new Error("step has no snapshot slot");
  return ctx.names[slot];
}

export const createWorkingSnapshot: StepImpl = async ({ ctx, planned }) => {
  const target = requireTarget(ctx);
  const name = slotName(ctx, planned.snapshot);
  await target.provider.ensureSnapshot(target.ext, name, "working");
  return { detail: { vm: target.vm.name, snapshot: name } };
};

export const createProtectiveSnapshot: StepImpl = async ({ ctx, planned }) => {
  const name = slotName(ctx, planned.snapshot);
  await ctx.replicaVm.provider.ensureSnapshot(ctx.replicaVm.ext, name, "protective");
  return { detail: { vm: ctx.replicaVm.vm.name, snapshot: name } };
};

export const commitWorkingSnapshot: StepImpl = async ({ ctx, planned }) => {
  const target = requireTarget(ctx);
  const name = slotName(ctx, planned.snapshot);
  await target.provider.removeSnapshotKeepingChanges(target.ext, name);
  return { detail: { vm: target.vm.name, snapshot: name } };
};

export const discardWorkingSnapshot: StepImpl = async ({ ctx, planned }) => {
  const target = ctx.target;
  if (!target) return { skipped: true, detail: { why: "no production VM was created" } };
  const name = slotName(ctx, planned.snapshot);
  if (!(await target.provider.listSnapshots(target.ext)).some((s) => s.name === name))
    return { detail: { snapshot: name, present: false } };
  if ((await target.provider.powerState(target.ext)) !== "off") await target.provider.powerOff(target.ext);
  await target.provider.removeSnapshotDiscardingChanges(target.ext, name);
  return { detail: { vm: target.vm.name, snapshot: name, discarded: true } };
};

export const mergeProtectiveSnapshot: StepImpl = async ({ ctx, planned }) => {
  const name = slotName(ctx, planned.snapshot);
  await ctx.replicaVm.provider.removeSnapshotKeepingChanges(ctx.replicaVm.ext, name);
  return { detail: { vm: ctx.replicaVm.vm.name, snapshot: name } };
};

/** Undo after switch: the replica's writes since the switch are thrown away (there are none: it was off). */
export const revertReplica: StepImpl = async ({ ctx, planned }) => {
  const name = slotName(ctx, planned.snapshot);
  const replica = ctx.replicaVm;
  if (!(await replica.provider.listSnapshots(replica.ext)).some((s) => s.name === name))
    return { detail: { snapshot: name, present: false } };
  if ((await replica.provider.powerState(replica.ext)) !== "off") await replica.provider.powerOff(replica.ext);
  await replica.provider.removeSnapshotDiscardingChanges(replica.ext, name);
  return { detail: { vm: replica.vm.name, snapshot: name } };
};

/** new_location: an empty VM like the replica (with the overrides) on the chosen host, recorded as the target. */
export const createVmAtNewLocation: StepImpl = async ({ ctx }) => {
  const where = ctx.newLocation;
  if (!where) throw new Error("the item has no new location");
  const info = await ctx.replicaVm.provider.ensureVmLike(ctx.replicaVm.ext, where.name, {
    storage: storageOf(where.host),
    cpus: where.cpus,
    memoryMib: where.memoryMib,
    network: where.network,
  });
  return {
    detail: { vm: info.name, host: where.host.name, id: info.id },
    inTx: async (tx) => {
      const row = await upsertVm(tx, {
        hostId: where.host.id,
        externalId: info.id,
        name: info.name,
        cpus: info.cpus,
        memoryMib: info.memoryMib,
        guestAgent: info.guestAgent,
        config: info.config,
      });
      for (const disk of info.disks)
        await upsertDisk(tx, { vmId: row.id, label: disk.label, sizeBytes: disk.sizeBytes, locator: disk.locator });
      await tx
        .update(failbackItems)
        .set({ targetVmId: row.id, updatedAt: new Date() })
        .where(eq(failbackItems.id, ctx.item.id));
    },
  };
};
