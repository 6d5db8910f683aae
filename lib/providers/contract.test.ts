// The provider contract: the same cases against every provider (testing/contract-subjects.ts lists them), on
// real VMs and disks, comparing the bytes read back with what was written. Every rejection must be a typed
// ProviderError. Each provider's own tests (qemu/*.test.ts) cover what only it has.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProviderError } from "./errors";
import type { Provider } from "./types";
import {
  blocksOf,
  type ContractContext,
  firstDifference,
  makeContext,
  normalizeRegions,
  rejection,
} from "./testing/contract-helpers";
import type { ContractSubject } from "./testing/contract-subject";
import { registerCbtCases } from "./testing/contract-cbt";
import { registerCrashCases } from "./testing/contract-crash";
import { registerInventoryCases } from "./testing/contract-inventory";
import { registerPowerCases } from "./testing/contract-power";
import { registerSnapshotCases } from "./testing/contract-snapshots";
import { contractSubjects } from "./testing/contract-subjects";

for (const [name, factory] of contractSubjects) {
  describe(`provider contract: ${name}`, () => {
    let context: ContractContext | undefined;
    beforeAll(async () => {
      context = makeContext(await factory());
    });
    afterAll(async () => {
      if (!context) return;
      console.log(`[contract ${name} timings] ${JSON.stringify(context.timings)}`);
      await context.subject.cleanup();
    });
    const get = () => {
      if (!context) throw new Error(`the ${name} subject was not set up`);
      return context;
    };

    registerInventoryCases(get);
    registerPowerCases(get);
    registerSnapshotCases(get);
    registerCbtCases(get);
    registerCrashCases(get);
  });
}

describe("contract harness", () => {
  it("records untyped rejections (also of disk handles), and its byte and block checks can fail", async () => {
    const handle = { read: () => Promise.reject(new TypeError("boom")), write: () => {}, dataRegions: () => {} };
    const fake = {
      getVm: () => Promise.reject(new Error("untyped")),
      listVms: () => Promise.reject(new ProviderError("busy", "typed")),
      openDiskForRead: () => Promise.resolve({ ...handle, close: () => Promise.resolve() }),
    } as unknown as Provider;
    const ctx = makeContext({ name: "fake", provider: fake } as unknown as ContractSubject);
    await expect(ctx.provider.getVm("x")).rejects.toThrow("untyped");
    expect((await rejection(ctx.provider.listVms(), ["busy"])).kind).toBe("busy");
    await expect((await ctx.provider.openDiskForRead("x", "vda")).read(0, 1)).rejects.toThrow("boom");
    expect(ctx.untypedRejections).toEqual([
      "fake provider.getVm: Error: untyped",
      "fake provider.openDiskForRead→handle.read: TypeError: boom",
    ]);

    const want = Buffer.alloc(4 * 65536);
    const got = Buffer.from(want).fill(7, 65536 + 3, 65536 + 5);
    expect(firstDifference(want, want)).toBeNull();
    expect(firstDifference(got, want)).toBe(
      "first difference at byte 65539 (block 1): got 0x07, want 0x00; 2 bytes differ",
    );
    expect(
      normalizeRegions([
        { offset: 10, length: 5 },
        { offset: 0, length: 10 },
        { offset: 30, length: 0 },
      ]),
    ).toEqual([{ offset: 0, length: 15 }]);
    const writes = [
      { disk: "vda", offset: 65536 + 100, length: 10, pattern: 1 },
      { disk: "vda", offset: 2 * 65536, length: 65536, pattern: 2 },
      { disk: "vdb", offset: 0, length: 1, pattern: 3 },
    ];
    expect(blocksOf(writes, "vda", 65536)).toEqual([{ offset: 65536, length: 2 * 65536 }]);
  });
});
