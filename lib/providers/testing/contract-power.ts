// Contract cases: power on/off as ensures, and the four paths of shutdownGuest.
import { describe, expect } from "vitest";
import { type ContextGetter, contractCase, MiB, plainVm, timed } from "./contract-helpers";

const oneDisk = [{ label: "vda", sizeBytes: 4 * MiB }];

export function registerPowerCases(get: ContextGetter): void {
  describe("power", () => {
    contractCase(get, "powerOn and powerOff are idempotent", async (ctx) => {
      const vm = await ctx.subject.createVm(ctx.name("power"), plainVm(oneDisk));
      expect(await ctx.provider.powerState(vm.id)).toBe("off");
      await timed(ctx, "powerOnMs", () => ctx.provider.powerOn(vm.id));
      await ctx.provider.powerOn(vm.id);
      expect(await ctx.provider.powerState(vm.id)).toBe("running");
      await timed(ctx, "powerOffMs", () => ctx.provider.powerOff(vm.id));
      await ctx.provider.powerOff(vm.id);
      expect(await ctx.provider.powerState(vm.id)).toBe("off");
    });

    contractCase(get, "shutdownGuest: already_off when off, forced at once without a guest agent", async (ctx) => {
      const vm = await ctx.subject.createVm(ctx.name("shut-forced"), plainVm(oneDisk));
      const off = await ctx.provider.shutdownGuest(vm.id, { timeoutMs: 30_000 });
      expect(off.path).toBe("already_off");
      expect(off.waitedMs).toBeGreaterThanOrEqual(0);
      expect(off.waitedMs).toBeLessThan(10_000);

      await ctx.provider.powerOn(vm.id);
      const started = Date.now();
      const forced = await ctx.provider.shutdownGuest(vm.id, { timeoutMs: 30_000 });
      ctx.timings.shutdownForcedMs = forced.waitedMs;
      expect(forced.path).toBe("forced");
      // At once: nowhere near the timeout.
      expect(forced.waitedMs).toBeLessThan(10_000);
      expect(forced.waitedMs).toBeLessThanOrEqual(Date.now() - started + 50);
      expect(await ctx.provider.powerState(vm.id)).toBe("off");
    });

    contractCase(get, "shutdownGuest: timeout_forced when the agent is declared but no OS answers", async (ctx) => {
      const vm = await ctx.subject.createVm(ctx.name("shut-timeout"), { ...plainVm(oneDisk), guestAgent: true });
      await ctx.provider.powerOn(vm.id);
      const result = await ctx.provider.shutdownGuest(vm.id, { timeoutMs: 1_500 });
      ctx.timings.shutdownTimeoutForcedMs = result.waitedMs;
      expect(result.path).toBe("timeout_forced");
      expect(result.waitedMs).toBeGreaterThanOrEqual(1_500);
      expect(result.waitedMs).toBeLessThan(15_000);
      expect(await ctx.provider.powerState(vm.id)).toBe("off");
    });

    contractCase(
      get,
      "shutdownGuest: graceful with the tiny guest",
      async (ctx) => {
        const vm = await ctx.subject.createVm(ctx.name("shut-graceful"), {
          disks: oneDisk,
          guest: "tiny",
          guestAgent: true,
          memoryMib: 256,
        });
        // The first start may build the guest image (lib/guest, cached afterwards).
        await timed(ctx, "tinyPowerOnMs", () => ctx.provider.powerOn(vm.id));
        // Asked at once, while the guest may still boot: the provider keeps asking until the timeout.
        const result = await ctx.provider.shutdownGuest(vm.id, { timeoutMs: 60_000 });
        ctx.timings.shutdownGracefulMs = result.waitedMs;
        expect(result.path).toBe("graceful");
        expect(result.waitedMs).toBeLessThan(60_000);
        expect(await ctx.provider.powerState(vm.id)).toBe("off");
      },
      240_000,
    );
  });
}
