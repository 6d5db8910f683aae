// Contract cases: changed-block tracking (dirty bitmaps, snapshot layers, a bitmap read below a snapshot).
import { describe, expect } from "vitest";
import {
  BLOCK,
  blocksOf,
  type ContextGetter,
  contractCase,
  covers,
  expectChangedExactly,
  expectUnavailable,
  plainVm,
  timed,
  type Write,
  writeRunning,
  writeSnapshot,
  writeTop,
} from "./contract-helpers";

export function registerCbtCases(get: ContextGetter): void {
  describe("changed-block tracking", () => {
    contractCase(get, "a bitmap has exactly the blocks written, offline and by the running VM", async (ctx) => {
      const vm = await ctx.subject.createVm(ctx.name("cbt"), plainVm());
      // Data from before tracking starts is no change.
      await writeTop(ctx, vm.id, [{ disk: "vda", offset: 0, length: 2 * BLOCK, pattern: 0x70 }]);
      await timed(ctx, "restartChangeTrackingMs", () => ctx.provider.restartChangeTracking(vm.id, "ct-cbt"));

      const offline: Write[] = [
        { disk: "vda", offset: 3 * BLOCK, length: BLOCK, pattern: 0x71 },
        { disk: "vda", offset: 7 * BLOCK + 100, length: 10, pattern: 0x72 }, // a few bytes: their whole block
      ];
      await writeTop(ctx, vm.id, offline);
      await ctx.provider.powerOn(vm.id);
      const live: Write[] = [
        { disk: "vda", offset: 10 * BLOCK, length: 2 * BLOCK, pattern: 0x73 },
        { disk: "vdb", offset: 0, length: BLOCK, pattern: 0x74 },
      ];
      await writeRunning(ctx, vm.id, live);
      await ctx.provider.powerOff(vm.id);
      const tracked = [...offline, ...live];

      for (const disk of ["vda", "vdb"]) {
        const changed = await timed(ctx, `changedBlocksBitmap${disk}Ms`, () =>
          ctx.provider.changedBlocks(vm.id, disk, { kind: "bitmap", name: "ct-cbt" }),
        );
        expectChangedExactly(changed, tracked, disk, `bitmap on ${disk}`);
      }
      expectUnavailable(
        await ctx.provider.changedBlocks(vm.id, "vda", { kind: "bitmap", name: "ct-no-such-bitmap" }),
        "an unknown bitmap",
      );
      expectUnavailable(
        await ctx.provider.changedBlocks(vm.id, "vda", { kind: "layer", name: "fb-ct-no-such-layer" }),
        "an unknown layer",
      );

      // A working snapshot above the bitmap: its layer lists what was written into it; the bitmap read below
      // it gives the writes made before it.
      await ctx.provider.ensureSnapshot(vm.id, "fb-ct-cbtwork", "working");
      const intoLayer: Write[] = [
        { disk: "vda", offset: 5 * BLOCK, length: BLOCK, pattern: 0x75 },
        { disk: "vda", offset: 3 * BLOCK + 7, length: 1, pattern: 0x76 },
      ];
      await writeSnapshot(ctx, vm.id, "fb-ct-cbtwork", intoLayer);
      for (const disk of ["vda", "vdb"]) {
        expectChangedExactly(
          await ctx.provider.changedBlocks(vm.id, disk, { kind: "layer", name: "fb-ct-cbtwork" }),
          intoLayer,
          disk,
          `layer on ${disk}`,
        );
        expectChangedExactly(
          await ctx.provider.changedBlocks(vm.id, disk, { kind: "bitmap", name: "ct-cbt", below: "fb-ct-cbtwork" }),
          tracked,
          disk,
          `bitmap below the snapshot on ${disk}`,
        );
        // Without `below` a provider may say it cannot tell; if it answers, it must not leave out a write.
        const whole = await ctx.provider.changedBlocks(vm.id, disk, { kind: "bitmap", name: "ct-cbt" });
        if (whole.available) {
          const all = blocksOf([...tracked, ...intoLayer], disk, whole.granularity);
          expect(covers(whole.regions, all), `bitmap above the snapshot on ${disk} covers every write`).toBe(true);
        } else expectUnavailable(whole, `bitmap above the snapshot on ${disk}`);
      }
      expectUnavailable(
        await ctx.provider.changedBlocks(vm.id, "vda", { kind: "bitmap", name: "ct-cbt", below: "fb-ct-nothere" }),
        "a bitmap below an unknown snapshot",
      );

      // Dropping the snapshot and restarting tracking: a new, empty bitmap.
      await ctx.provider.removeSnapshotDiscardingChanges(vm.id, "fb-ct-cbtwork");
      await ctx.provider.restartChangeTracking(vm.id, "ct-cbt");
      for (const disk of ["vda", "vdb"])
        expectChangedExactly(
          await ctx.provider.changedBlocks(vm.id, disk, { kind: "bitmap", name: "ct-cbt" }),
          [],
          disk,
          `restarted bitmap on ${disk}`,
        );
      const afterRestart: Write[] = [{ disk: "vdb", offset: 9 * BLOCK, length: BLOCK, pattern: 0x77 }];
      await writeTop(ctx, vm.id, afterRestart);
      expectChangedExactly(
        await ctx.provider.changedBlocks(vm.id, "vdb", { kind: "bitmap", name: "ct-cbt" }),
        afterRestart,
        "vdb",
        "restarted bitmap after a write",
      );
    });
  });
}
