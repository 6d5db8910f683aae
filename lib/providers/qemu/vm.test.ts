import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProviderError } from "../errors";
import { createVm, ensureVmLike, vmInfo } from "./create-vm";
import { freeSpaceBytes } from "./free-space";
import { powerOff, powerOn, powerState, shutdownGuest } from "./power";
import { QmpClient, QmpCommandError } from "./qmp";
import type { Site } from "./site";
import { elapsed, MiB, TestSites, testGuestCacheDir } from "./testing/vms";
import { qemuPid } from "./vm-liveness";
import { nodeName, runPaths } from "./vm-names";
import { withQmp } from "./vm-qmp";

const sites = new TestSites();
const guestCacheDir = testGuestCacheDir();
const timings: Record<string, number> = {};
let site: Site;

beforeAll(async () => {
  site = sites.make();
  await createVm(site, "plain", { name: "plain", disks: [{ label: "vda", sizeBytes: 16 * MiB }] });
  await createVm(site, "agent-no-os", {
    name: "agent-no-os",
    guestAgent: true,
    disks: [{ label: "vda", sizeBytes: 16 * MiB }],
  });
  await createVm(site, "tiny", {
    name: "tiny",
    guest: "tiny",
    guestAgent: true,
    memoryMib: 256,
    disks: [{ label: "vda", sizeBytes: 16 * MiB }],
  });
  // The tiny guest boots for ~8 s under TCG: start it now so its boot overlaps the other tests.
  const t = Date.now();
  await powerOn(site, "tiny", { guestCacheDir });
  timings.tinyPowerOnMs = elapsed(t);
}, 120_000);

afterAll(async () => {
  console.log(`[qemu vm timings] ${JSON.stringify(timings)}`);
  await sites.cleanup();
});

const expectProviderError = async (promise: Promise<unknown>, kind: ProviderError["kind"]) => {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  expect((err as ProviderError).kind).toBe(kind);
  return err as ProviderError;
};

describe("power", () => {
  it("powers on and off idempotently and reports the state", async () => {
    expect(await powerState(site, "plain")).toBe("off");
    let t = Date.now();
    await powerOn(site, "plain");
    timings.powerOnMs = elapsed(t);
    const pid = qemuPid(site, "plain");
    expect(pid).not.toBeNull();
    await powerOn(site, "plain"); // ensure: no second QEMU
    expect(qemuPid(site, "plain")).toBe(pid);
    expect(await powerState(site, "plain")).toBe("running");

    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    expect(argv).toEqual(expect.arrayContaining(["-accel", "tcg", "-nodefaults", "-daemonize"]));
    expect(argv.join(" ")).toContain(`"node-name":"${nodeName("vda", "base")}"`);
    expect(argv).toContain("virtio-blk-pci,drive=vda-base,id=vda");

    await withQmp(site, "plain", (qmp) => qmp.execute("stop"));
    expect(await powerState(site, "plain")).toBe("paused");
    await powerOn(site, "plain"); // a paused VM is resumed
    expect(await powerState(site, "plain")).toBe("running");

    t = Date.now();
    await powerOff(site, "plain");
    timings.powerOffMs = elapsed(t);
    expect(await powerState(site, "plain")).toBe("off");
    await powerOff(site, "plain"); // off already: no-op
    const run = runPaths(site, "plain");
    expect(fs.existsSync(run.pidFile)).toBe(false);
    expect(fs.existsSync(run.qmpSocket)).toBe(false);
  });

  it("reports a SIGKILLed QEMU as off at once and cleans its stale files", async () => {
    await powerOn(site, "plain");
    const pid = qemuPid(site, "plain") as number;
    process.kill(pid, "SIGKILL");
    const run = runPaths(site, "plain");
    const t = Date.now();
    for (;;) {
      // the kernel needs a moment to tear the process down
      if ((await powerState(site, "plain")) === "off") break;
      expect(elapsed(t)).toBeLessThan(2_000);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    timings.killedReportedOffMs = elapsed(t);
    expect(fs.existsSync(run.pidFile)).toBe(false);
    expect(fs.existsSync(run.qmpSocket)).toBe(false);
    await powerOn(site, "plain"); // starts cleanly again
    expect(await powerState(site, "plain")).toBe("running");
    await powerOff(site, "plain");
  });

  it("refuses to power on a retired VM", async () => {
    const s = sites.make();
    await createVm(s, "old", { name: "old", retired: true, disks: [{ label: "vda", sizeBytes: MiB }] });
    await expectProviderError(powerOn(s, "old"), "invalid");
    expect(await powerState(s, "old")).toBe("off");
  });

  it("unknown VM → not_found", async () => {
    await expectProviderError(powerState(site, "nope"), "not_found");
  });
});

describe("shutdownGuest", () => {
  it("already_off for a VM that is off", async () => {
    expect((await shutdownGuest(site, "plain", { timeoutMs: 2_000 })).path).toBe("already_off");
  });

  it("forced at once without a guest agent", async () => {
    await powerOn(site, "plain");
    const result = await shutdownGuest(site, "plain", { timeoutMs: 60_000 });
    timings.forcedMs = result.waitedMs;
    expect(result.path).toBe("forced");
    expect(result.waitedMs).toBeLessThan(3_000);
    expect(await powerState(site, "plain")).toBe("off");
  });

  it("forced at once when paused, even with an agent", async () => {
    await powerOn(site, "agent-no-os");
    await withQmp(site, "agent-no-os", (qmp) => qmp.execute("stop"));
    const result = await shutdownGuest(site, "agent-no-os", { timeoutMs: 60_000 });
    expect(result.path).toBe("forced");
    expect(result.waitedMs).toBeLessThan(3_000);
  });

  it("timeout_forced when the agent is declared but nothing answers (no OS)", async () => {
    await powerOn(site, "agent-no-os");
    const result = await shutdownGuest(site, "agent-no-os", { timeoutMs: 2_000 });
    timings.timeoutForcedMs = result.waitedMs;
    expect(result.path).toBe("timeout_forced");
    expect(result.waitedMs).toBeGreaterThanOrEqual(2_000);
    expect(result.waitedMs).toBeLessThan(5_000);
    expect(await powerState(site, "agent-no-os")).toBe("off");
  });

  it("graceful for the tiny guest (ACPI power button, resent until it takes)", async () => {
    expect(await powerState(site, "tiny")).toBe("running");
    const result = await shutdownGuest(site, "tiny", { timeoutMs: 60_000 });
    timings.gracefulMs = result.waitedMs;
    expect(result.path).toBe("graceful");
    expect(result.waitedMs).toBeLessThan(30_000);
    expect(await powerState(site, "tiny")).toBe("off");
    expect(fs.readFileSync(runPaths(site, "tiny").serialLog, "utf8")).toContain("powering off");
  }, 60_000);
});

describe("QMP client", () => {
  it("maps QMP errors to ProviderError and fails pending calls at once when QEMU dies", async () => {
    await powerOn(site, "plain");
    const { qmpSocket } = runPaths(site, "plain");
    const qmp = await QmpClient.connect(qmpSocket);
    try {
      const err = await expectProviderError(qmp.execute("blockdev-del", { "node-name": "no-such-node" }), "hypervisor");
      expect(err).toBeInstanceOf(QmpCommandError);
      expect(err.toolMessage).toMatch(/no-such-node/);

      // The monitor serves one client: a second one gets no greeting and gives up with a transient "busy".
      const second = await expectProviderError(QmpClient.connect(qmpSocket, { timeoutMs: 500 }), "busy");
      expect(second.transient).toBe(true);

      const waiting = qmp.waitForEvent("NEVER_HAPPENS", () => true, 60_000);
      const t = Date.now();
      process.kill(qemuPid(site, "plain") as number, "SIGKILL");
      const dead = await expectProviderError(waiting, "hypervisor");
      expect(dead.transient).toBe(true);
      expect(elapsed(t)).toBeLessThan(2_000);
      await expectProviderError(qmp.execute("query-status"), "hypervisor"); // closed: rejects at once
    } finally {
      qmp.close();
    }
    expect(await powerState(site, "plain")).toBe("off");
  });
});

describe("creating VMs", () => {
  it("createVm makes sparse disks and is idempotent", async () => {
    const s = sites.make();
    const info = await createVm(s, "fresh", {
      name: "Fresh",
      cpus: 2,
      disks: [
        { label: "vda", sizeBytes: 64 * MiB },
        { label: "vdb", sizeBytes: 8 * MiB },
      ],
    });
    expect(info).toMatchObject({ id: "fresh", name: "Fresh", cpus: 2, memoryMib: 64, guestAgent: false });
    expect(info.disks.map((d) => [d.label, d.sizeBytes])).toEqual([
      ["vda", 64 * MiB],
      ["vdb", 8 * MiB],
    ]);
    const file = s.layerFile("fresh", "vda", "base");
    expect(fs.statSync(file).size).toBeLessThan(MiB); // sparse: qcow2 metadata only
    const again = await createVm(s, "fresh", { name: "Other", disks: [{ label: "vda", sizeBytes: MiB }] });
    expect(again).toEqual(info);
  });

  it("ensureVmLike copies the configuration with overrides and empty disks, once", async () => {
    const target = sites.make();
    await createVm(site, "source", {
      name: "Source",
      cpus: 2,
      memoryMib: 128,
      guestAgent: true,
      guest: "tiny",
      network: "lan0",
      disks: [
        { label: "vda", sizeBytes: 32 * MiB },
        { label: "vdb", sizeBytes: 16 * MiB },
      ],
    });
    const made = await ensureVmLike(site, "source", "copy", { memoryMib: 256, network: "lan9" }, target);
    expect(made).toMatchObject({ id: "copy", name: "copy", cpus: 2, memoryMib: 256, guestAgent: true });
    expect(made.config).toMatchObject({ guest: "tiny", network: "lan9", layers: { vda: ["base"], vdb: ["base"] } });
    expect(made.disks.map((d) => [d.label, d.sizeBytes])).toEqual([
      ["vda", 32 * MiB],
      ["vdb", 16 * MiB],
    ]);
    const again = await ensureVmLike(site, "source", "copy", { cpus: 4 }, target);
    expect(again).toEqual(made);
    expect(vmInfo(target, "copy")).toEqual(made);
  });

  it("reports free space", async () => {
    const free = await freeSpaceBytes(site);
    const stats = fs.statfsSync(site.dir);
    expect(free).toBeGreaterThan(0);
    expect(Math.abs(free - stats.bavail * stats.bsize)).toBeLessThan(64 * MiB);
  });

  it("derives short QMP node names from long layer names", () => {
    expect(nodeName("vda", "base")).toBe("vda-base");
    const long = nodeName("vda", "fb-0f8e2c1a-6a53-4c53-9d3b-3d2f6c1e9b7a-protect1");
    expect(long.length).toBeLessThanOrEqual(29);
    expect(long).toMatch(/^vda-fb-0f8e2c1a-6a/);
    expect(long).not.toBe(nodeName("vda", "fb-0f8e2c1a-6a53-4c53-9d3b-3d2f6c1e9b7a-protect2"));
  });
});
