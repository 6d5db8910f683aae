// Contract cases: working and protective snapshots on stopped and running VMs, checked byte for byte.
import { describe, expect } from "vitest";
import type { SnapshotInfo } from "../types";
import {
  applyWrites,
  BLOCK,
  cloneModel,
  type ContractContext,
  type ContextGetter,
  contractCase,
  emptyModel,
  expectDisks,
  MiB,
  plainVm,
  rejection,
  timed,
  twoDisks,
  type Write,
  writeRunning,
  writeSnapshot,
  writeTop,
} from "./contract-helpers";

const sorted = (snapshots: SnapshotInfo[]) => snapshots.map((s) => ({ ...s, disks: [...s.disks].sort() }));
const bothDisks = twoDisks.map((d) => d.label).sort();

async function expectSnapshots(ctx: ContractContext, vmId: string, expected: SnapshotInfo[]): Promise<void> {
  expect(sorted(await ctx.provider.listSnapshots(vmId))).toEqual(expected);
}

export function registerSnapshotCases(get: ContextGetter): void {
  describe("snapshots, VM stopped", () => {
    contractCase(
      get,
      "working snapshot: writes land in the delta; commit keeps them, discard drops them",
      async (ctx) => {
        const vm = await ctx.subject.createVm(ctx.name("snap-off"), plainVm());
        const seed: Write[] = [
          { disk: "vda", offset: 0, length: 2 * BLOCK, pattern: 0x11 },
          { disk: "vdb", offset: BLOCK, length: BLOCK, pattern: 0x12 },
        ];
        await writeTop(ctx, vm.id, seed);
        const base = applyWrites(emptyModel(twoDisks), seed);

        await timed(ctx, "ensureSnapshotOfflineMs", () => ctx.provider.ensureSnapshot(vm.id, "fb-ct-work1", "working"));
        await ctx.provider.ensureSnapshot(vm.id, "fb-ct-work1", "working");
        await expectSnapshots(ctx, vm.id, [{ name: "fb-ct-work1", kind: "working", disks: bothDisks }]);

        const delta: Write[] = [
          { disk: "vda", offset: BLOCK, length: 2 * BLOCK, pattern: 0x21 }, // half over the seed
          { disk: "vda", offset: 5 * MiB, length: BLOCK, pattern: 0x22 },
          { disk: "vdb", offset: 0, length: BLOCK, pattern: 0x23 },
        ];
        await writeSnapshot(ctx, vm.id, "fb-ct-work1", delta);
        const committed = applyWrites(cloneModel(base), delta);
        await expectDisks(ctx, vm.id, base, { at: "fb-ct-work1", what: "below the working snapshot" });
        await expectDisks(ctx, vm.id, committed, { what: "through the working snapshot" });

        await timed(ctx, "commitOfflineMs", () => ctx.provider.removeSnapshotKeepingChanges(vm.id, "fb-ct-work1"));
        await expectSnapshots(ctx, vm.id, []);
        await expectDisks(ctx, vm.id, committed, { what: "after the commit" });
        await ctx.provider.removeSnapshotKeepingChanges(vm.id, "fb-ct-work1"); // gone → no-op
        await expectSnapshots(ctx, vm.id, []);
        await expectDisks(ctx, vm.id, committed, { what: "after a second commit" });

        await ctx.provider.ensureSnapshot(vm.id, "fb-ct-work2", "working");
        const thrownAway: Write[] = [
          { disk: "vda", offset: 0, length: MiB, pattern: 0x31 },
          { disk: "vdb", offset: 2 * MiB, length: BLOCK, pattern: 0x32 },
        ];
        await writeSnapshot(ctx, vm.id, "fb-ct-work2", thrownAway);
        await expectDisks(ctx, vm.id, applyWrites(cloneModel(committed), thrownAway), { what: "before the discard" });
        await timed(ctx, "discardOfflineMs", () => ctx.provider.removeSnapshotDiscardingChanges(vm.id, "fb-ct-work2"));
        await ctx.provider.removeSnapshotDiscardingChanges(vm.id, "fb-ct-work2"); // gone → no-op
        await expectSnapshots(ctx, vm.id, []);
        await expectDisks(ctx, vm.id, committed, { what: "after the discard" });
      },
    );

    contractCase(get, "a working snapshot made while running is written and committed after the stop", async (ctx) => {
      const vm = await ctx.subject.createVm(ctx.name("snap-work-live"), plainVm());
      const seed: Write[] = [{ disk: "vda", offset: 0, length: 4 * BLOCK, pattern: 0x61 }];
      await writeTop(ctx, vm.id, seed);
      const base = applyWrites(emptyModel(twoDisks), seed);
      await ctx.provider.powerOn(vm.id);
      await timed(ctx, "ensureWorkingLiveMs", () => ctx.provider.ensureSnapshot(vm.id, "fb-ct-work3", "working"));
      await expectSnapshots(ctx, vm.id, [{ name: "fb-ct-work3", kind: "working", disks: bothDisks }]);
      const live: Write[] = [{ disk: "vda", offset: 2 * BLOCK, length: 4 * BLOCK, pattern: 0x62 }];
      await writeRunning(ctx, vm.id, live);
      await ctx.provider.powerOff(vm.id);

      const offline: Write[] = [
        { disk: "vda", offset: 0, length: BLOCK, pattern: 0x63 },
        { disk: "vdb", offset: BLOCK, length: BLOCK, pattern: 0x64 },
      ];
      await writeSnapshot(ctx, vm.id, "fb-ct-work3", offline);
      const all = applyWrites(applyWrites(cloneModel(base), live), offline);
      await expectDisks(ctx, vm.id, base, { at: "fb-ct-work3", what: "below the working snapshot" });
      await expectDisks(ctx, vm.id, all, { what: "through the working snapshot" });
      await ctx.provider.removeSnapshotKeepingChanges(vm.id, "fb-ct-work3");
      await expectSnapshots(ctx, vm.id, []);
      await expectDisks(ctx, vm.id, all, { what: "after the offline commit" });
    });
  });

  describe("snapshots, VM running", () => {
    contractCase(
      get,
      "protective snapshot: frozen view, live merge keeps the VM's writes, revert only when off",
      async (ctx) => {
        const vm = await ctx.subject.createVm(ctx.name("snap-live"), plainVm());
        const seed: Write[] = [{ disk: "vda", offset: 0, length: BLOCK, pattern: 0x41 }];
        await writeTop(ctx, vm.id, seed);
        const model = applyWrites(emptyModel(twoDisks), seed);
        await ctx.provider.powerOn(vm.id);

        const before: Write[] = [
          { disk: "vda", offset: 2 * BLOCK, length: BLOCK, pattern: 0x42 },
          { disk: "vdb", offset: 0, length: BLOCK, pattern: 0x43 },
        ];
        await writeRunning(ctx, vm.id, before);
        applyWrites(model, before);
        await timed(ctx, "ensureProtectiveLiveMs", () =>
          ctx.provider.ensureSnapshot(vm.id, "fb-ct-protect1", "protective"),
        );
        await ctx.provider.ensureSnapshot(vm.id, "fb-ct-protect1", "protective");
        await expectSnapshots(ctx, vm.id, [{ name: "fb-ct-protect1", kind: "protective", disks: bothDisks }]);
        expect(await ctx.provider.powerState(vm.id)).toBe("running");

        const after: Write[] = [
          { disk: "vda", offset: 2 * BLOCK, length: BLOCK, pattern: 0x44 }, // over a write made before
          { disk: "vda", offset: 6 * MiB, length: BLOCK, pattern: 0x45 },
          { disk: "vdb", offset: 3 * MiB, length: BLOCK, pattern: 0x46 },
        ];
        await writeRunning(ctx, vm.id, after);
        await expectDisks(ctx, vm.id, model, { at: "fb-ct-protect1", what: "frozen at the protective snapshot" });
        const merged = applyWrites(cloneModel(model), after);

        await timed(ctx, "mergeLiveMs", () => ctx.provider.removeSnapshotKeepingChanges(vm.id, "fb-ct-protect1"));
        await ctx.provider.removeSnapshotKeepingChanges(vm.id, "fb-ct-protect1");
        await expectSnapshots(ctx, vm.id, []);
        expect(await ctx.provider.powerState(vm.id)).toBe("running");

        // A second protective snapshot: its frozen view is the merged disk (the VM's writes were kept) …
        await ctx.provider.ensureSnapshot(vm.id, "fb-ct-protect2", "protective");
        const later: Write[] = [
          { disk: "vda", offset: 0, length: 2 * BLOCK, pattern: 0x51 },
          { disk: "vdb", offset: 3 * MiB, length: BLOCK, pattern: 0x52 },
        ];
        await writeRunning(ctx, vm.id, later);
        await expectDisks(ctx, vm.id, merged, { at: "fb-ct-protect2", what: "after the live merge" });
        // … and reverting to it is refused while the VM runs, then throws the later writes away once it is off.
        await rejection(ctx.provider.removeSnapshotDiscardingChanges(vm.id, "fb-ct-protect2"));
        await expectSnapshots(ctx, vm.id, [{ name: "fb-ct-protect2", kind: "protective", disks: bothDisks }]);
        expect(await ctx.provider.powerState(vm.id)).toBe("running");
        await ctx.provider.powerOff(vm.id);
        await expectDisks(ctx, vm.id, applyWrites(cloneModel(merged), later), { what: "before the revert" });
        await timed(ctx, "revertOfflineMs", () =>
          ctx.provider.removeSnapshotDiscardingChanges(vm.id, "fb-ct-protect2"),
        );
        await expectSnapshots(ctx, vm.id, []);
        await expectDisks(ctx, vm.id, merged, { what: "after the revert" });
      },
    );
  });
}
