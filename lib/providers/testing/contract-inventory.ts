// Contract cases: inventory, typed errors for unknown things, and ensureVmLike.
import path from "node:path";
import { describe, expect } from "vitest";
import {
  BLOCK,
  type ContextGetter,
  contractCase,
  MiB,
  plainVm,
  readDisk,
  rejection,
  timed,
  twoDisks,
  writeTop,
} from "./contract-helpers";

export function registerInventoryCases(get: ContextGetter): void {
  describe("inventory", () => {
    contractCase(get, "listVms and getVm describe a created VM; freeSpaceBytes > 0", async (ctx) => {
      const name = ctx.name("inventory");
      const made = await timed(ctx, "createVmMs", () =>
        ctx.subject.createVm(name, { ...plainVm(), cpus: 2, memoryMib: 96 }),
      );
      expect(made).toMatchObject({ name, cpus: 2, memoryMib: 96, guestAgent: false });
      const listed = await timed(ctx, "listVmsMs", () => ctx.provider.listVms());
      expect(listed.map((v) => v.id)).toContain(made.id);
      const got = await ctx.provider.getVm(made.id);
      expect(got).toMatchObject({ id: made.id, name, cpus: 2, memoryMib: 96, guestAgent: false });
      expect(got.disks.map((d) => [d.label, d.sizeBytes])).toEqual(twoDisks.map((d) => [d.label, d.sizeBytes]));
      for (const disk of got.disks) expect(disk.locator, `${disk.label} locator`).not.toBe("");
      expect(listed.find((v) => v.id === made.id)).toEqual(got);
      expect(await ctx.provider.powerState(made.id)).toBe("off");
      expect(await ctx.provider.listSnapshots(made.id)).toEqual([]);
      expect(await ctx.provider.freeSpaceBytes(made.id)).toBeGreaterThan(0);
    });

    contractCase(get, "unknown VMs, disks and snapshots are typed errors", async (ctx) => {
      // Shaped like a libvirt domain UUID and a valid qemu VM id: both look it up rather than refuse its form.
      const ghost = "00000000-0000-4000-8000-00000000c0de";
      await rejection(ctx.provider.getVm(ghost), ["not_found"]);
      await rejection(ctx.provider.powerState(ghost), ["not_found"]);
      await rejection(ctx.provider.powerOn(ghost), ["not_found"]);
      await rejection(ctx.provider.listSnapshots(ghost), ["not_found"]);
      await rejection(ctx.provider.ensureSnapshot(ghost, "fb-ct-ghost", "working"), ["not_found"]);
      await rejection(ctx.provider.openDiskForRead(ghost, "vda"), ["not_found"]);
      await rejection(ctx.provider.changedBlocks(ghost, "vda", { kind: "bitmap", name: "cbt" }), ["not_found"]);
      await rejection(ctx.provider.ensureVmLike(ghost, ctx.name("ghost-copy")), ["not_found"]);

      const vm = await ctx.subject.createVm(ctx.name("typed-errors"), plainVm());
      await rejection(ctx.provider.openDiskForRead(vm.id, "vdq"), ["not_found"]);
      await rejection(ctx.provider.openDiskForRead(vm.id, "vda", { at: "fb-ct-none" }), ["not_found"]);
      await rejection(ctx.provider.openSnapshotForWrite(vm.id, "vda", "fb-ct-none"), ["not_found", "invalid"]);
      // Gone already → no-op, not an error.
      await ctx.provider.removeSnapshotKeepingChanges(vm.id, "fb-ct-none");
      await ctx.provider.removeSnapshotDiscardingChanges(vm.id, "fb-ct-none");
    });
  });

  describe("ensureVmLike", () => {
    contractCase(get, "an empty VM like another, with overrides, made once", async (ctx) => {
      const source = await ctx.subject.createVm(ctx.name("like-src"), { ...plainVm(), cpus: 1, memoryMib: 64 });
      await writeTop(ctx, source.id, [
        { disk: "vda", offset: 0, length: MiB, pattern: 0x5a },
        { disk: "vdb", offset: 3 * BLOCK, length: BLOCK, pattern: 0x5b },
      ]);
      const name = ctx.name("like-copy");
      const made = await timed(ctx, "ensureVmLikeMs", () =>
        ctx.provider.ensureVmLike(source.id, name, { cpus: 2, memoryMib: 128 }),
      );
      expect(made.id).not.toBe(source.id);
      expect(made).toMatchObject({ name, cpus: 2, memoryMib: 128, guestAgent: source.guestAgent });
      expect(made.disks.map((d) => [d.label, d.sizeBytes])).toEqual(source.disks.map((d) => [d.label, d.sizeBytes]));
      const again = await ctx.provider.ensureVmLike(source.id, name, { cpus: 2, memoryMib: 128 });
      expect(again.id).toBe(made.id);
      expect(again).toEqual(made);
      expect(await ctx.provider.getVm(made.id)).toEqual(made);
      expect((await ctx.provider.listVms()).filter((v) => v.name === name).map((v) => v.id)).toEqual([made.id]);
      for (const disk of made.disks) {
        const handle = await ctx.provider.openDiskForRead(made.id, disk.label);
        try {
          expect(handle.sizeBytes).toBe(disk.sizeBytes);
          expect(await handle.dataRegions(), `${disk.label} data regions`).toEqual([]);
        } finally {
          await handle.close();
        }
        expect((await readDisk(ctx, made.id, disk.label)).equals(Buffer.alloc(disk.sizeBytes))).toBe(true);
      }
      // The source is untouched.
      expect((await readDisk(ctx, source.id, "vda")).subarray(0, MiB).equals(Buffer.alloc(MiB, 0x5a))).toBe(true);
    });

    contractCase(
      get,
      "ensureVmLike puts the new VM's disks in overrides.storage, and the provider of that storage has the VM",
      async (ctx) => {
        // new_location: the engine asks the replica's provider for a VM like the replica, with its disks in the
        // new-location host's storage folder, then goes on with the VM through that host's own provider.
        const source = await ctx.subject.createVm(ctx.name("store-src"), plainVm());
        await writeTop(ctx, source.id, [{ disk: "vda", offset: 0, length: BLOCK, pattern: 0x61 }]);
        const name = ctx.name("store-copy");
        const storage = ctx.subject.otherStorage;
        const made = await timed(ctx, "ensureVmLikeOtherStorageMs", () =>
          ctx.provider.ensureVmLike(source.id, name, { storage, cpus: 2 }),
        );
        expect(made.id).not.toBe(source.id);
        expect(made).toMatchObject({ name, cpus: 2 });
        expect(made.disks.map((d) => [d.label, d.sizeBytes])).toEqual(source.disks.map((d) => [d.label, d.sizeBytes]));
        const folder = path.resolve(storage) + path.sep;
        for (const disk of made.disks)
          expect(path.resolve(disk.locator).startsWith(folder), `${disk.label} at ${disk.locator}`).toBe(true);
        expect((await ctx.provider.ensureVmLike(source.id, name, { storage, cpus: 2 })).id).toBe(made.id);

        const there = ctx.providerAt(storage);
        expect(ctx.subject.providerAt(storage), "one provider per storage folder").toBe(
          ctx.subject.providerAt(storage),
        );
        const got = await there.getVm(made.id);
        expect(got).toMatchObject({ id: made.id, name, cpus: 2 });
        expect(got.disks).toEqual(made.disks);
        expect((await there.listVms()).filter((v) => v.name === name).map((v) => v.id)).toEqual([made.id]);
        expect(await there.powerState(made.id)).toBe("off");
        for (const disk of made.disks) {
          const handle = await there.openDiskForRead(made.id, disk.label);
          try {
            expect(handle.sizeBytes).toBe(disk.sizeBytes);
            expect(await handle.dataRegions(), `${disk.label} data regions`).toEqual([]);
          } finally {
            await handle.close();
          }
          const bytes = await readDisk(ctx, made.id, disk.label, undefined, there);
          expect(bytes.equals(Buffer.alloc(disk.sizeBytes)), `${disk.label} reads as zeroes`).toBe(true);
        }
        // The source is untouched, and still its provider's.
        expect((await readDisk(ctx, source.id, "vda")).subarray(0, BLOCK).equals(Buffer.alloc(BLOCK, 0x61))).toBe(true);
        expect((await ctx.provider.getVm(source.id)).name).toBe(source.name);
      },
    );
  });
}
