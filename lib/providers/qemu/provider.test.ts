// The Provider interface as the engine sees it, on real QEMU and qcow2 (small disks).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stopProcessesMentioning } from "./processes";
import { ProviderError } from "../errors";
import { QemuProvider, vmIdFromName } from "./provider";
import { qemuPid } from "./vm-liveness";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "failback-provider-"));
const provider = new QemuProvider({ siteDir: root, guestCacheDir: path.join(os.tmpdir(), "failback-guest-cache") });
const MiB = 1024 * 1024;
const block = 64 * 1024;

afterAll(async () => {
  await stopProcessesMentioning(root);
  fs.rmSync(root, { recursive: true, force: true });
});

const newVm = (id: string) =>
  provider.createVm(id, {
    name: id,
    guestAgent: false,
    guest: "none",
    disks: [
      { label: "vda", sizeBytes: 8 * MiB },
      { label: "vdb", sizeBytes: 4 * MiB },
    ],
  });

async function kindOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "resolved";
  } catch (err) {
    return err instanceof ProviderError ? err.kind : `untyped: ${String(err)}`;
  }
}

describe("qemu provider", () => {
  it("lists VMs and their disks, and errors are typed", async () => {
    await newVm("alpha");
    const vms = await provider.listVms();
    expect(vms.map((v) => v.id)).toEqual(["alpha"]);
    expect(vms[0]?.disks.map((d) => [d.label, d.sizeBytes])).toEqual([
      ["vda", 8 * MiB],
      ["vdb", 4 * MiB],
    ]);
    expect(await kindOf(provider.getVm("missing"))).toBe("not_found");
    expect(await kindOf(provider.getVm("../etc"))).toBe("invalid");
    expect(await provider.freeSpaceBytes("alpha")).toBeGreaterThan(0);
  });

  it("tracks changed blocks with a dirty bitmap, and says when it cannot", async () => {
    await provider.restartChangeTracking("alpha", "cbt");
    await provider.restartChangeTracking("alpha", "cbt");
    const disk = await provider.openTopForWrite("alpha", "vda");
    await disk.write(3 * block, Buffer.alloc(block, 1));
    await disk.write(7 * block + 100, Buffer.alloc(10, 2));
    await disk.close();
    const changed = await provider.changedBlocks("alpha", "vda", { kind: "bitmap", name: "cbt" });
    expect(changed).toEqual({
      available: true,
      granularity: block,
      regions: [
        { offset: 3 * block, length: block },
        { offset: 7 * block, length: block },
      ],
    });
    const untouched = await provider.changedBlocks("alpha", "vdb", { kind: "bitmap", name: "cbt" });
    expect(untouched).toMatchObject({ available: true, regions: [] });
    expect(await provider.changedBlocks("alpha", "vda", { kind: "bitmap", name: "other" })).toMatchObject({
      available: false,
    });
    expect(await provider.changedBlocks("alpha", "vda", { kind: "layer", name: "nope" })).toMatchObject({
      available: false,
    });

    // A working snapshot above the bitmap's layer hides writes from it: the provider says so instead of lying.
    await provider.ensureSnapshot("alpha", "fb-t-work1", "working");
    const hidden = await provider.changedBlocks("alpha", "vda", { kind: "bitmap", name: "cbt" });
    expect(hidden.available).toBe(false);
    const layerWrites = await provider.openSnapshotForWrite("alpha", "vda", "fb-t-work1");
    await layerWrites.write(5 * block, Buffer.alloc(block, 9));
    await layerWrites.close();
    expect(await provider.changedBlocks("alpha", "vda", { kind: "layer", name: "fb-t-work1" })).toEqual({
      available: true,
      granularity: block,
      regions: [{ offset: 5 * block, length: block }],
    });
    // Only the top layer is writable; the base stays untouched until commit.
    expect(await kindOf(provider.openSnapshotForWrite("alpha", "vda", "base"))).toBe("invalid");
    const base = await provider.openDiskForRead("alpha", "vda", { at: "fb-t-work1" });
    expect((await base.read(5 * block, block)).equals(Buffer.alloc(block, 0))).toBe(true);
    await base.close();
    await provider.removeSnapshotKeepingChanges("alpha", "fb-t-work1");
    const after = await provider.openDiskForRead("alpha", "vda");
    expect((await after.read(5 * block, block)).equals(Buffer.alloc(block, 9))).toBe(true);
    const data = await after.dataRegions();
    expect(data.slice(0, 2)).toEqual([
      { offset: 3 * block, length: block },
      { offset: 5 * block, length: block },
    ]);
    // The 10-byte write: QEMU reports the zero rest of its cluster as zero, at its own finer granularity.
    expect(data).toHaveLength(3);
    expect(data[2]?.offset).toBe(7 * block);
    expect((data[2]?.length ?? 0) >= 110 && (data[2]?.length ?? 0) <= block).toBe(true);
    await after.close();
  });

  it("refuses to read a running VM's live disk, but reads a frozen view while it writes", async () => {
    await newVm("beta");
    const seed = await provider.openTopForWrite("beta", "vda");
    await seed.write(0, Buffer.alloc(block, 0x11));
    await seed.close();
    await provider.powerOn("beta");
    expect(await kindOf(provider.openDiskForRead("beta", "vda"))).toBe("busy");
    expect(await kindOf(provider.openSnapshotForWrite("beta", "vda", "base"))).toBe("busy");
    await provider.ensureSnapshot("beta", "fb-t-protect1", "protective");
    await provider.writePatternThroughRunningVm("beta", "vda", 0, block, 0x22);
    const frozen = await provider.openDiskForRead("beta", "vda", { at: "fb-t-protect1" });
    expect((await frozen.read(0, block)).equals(Buffer.alloc(block, 0x11))).toBe(true);
    await frozen.close();
    expect(await provider.changedBlocks("beta", "vda", { kind: "layer", name: "fb-t-protect1" })).toMatchObject({
      available: true,
      regions: [{ offset: 0, length: block }],
    });
    await provider.removeSnapshotKeepingChanges("beta", "fb-t-protect1");
    await provider.powerOff("beta");
    const merged = await provider.openDiskForRead("beta", "vda");
    expect((await merged.read(0, block)).equals(Buffer.alloc(block, 0x22))).toBe(true);
    await merged.close();
  });

  it("tracks writes made by the running VM itself in its dirty bitmap, and falls back after a crash", async () => {
    await newVm("gamma");
    await provider.restartChangeTracking("gamma", "cbt");
    await provider.powerOn("gamma");
    // While QEMU owns the bitmap it cannot be read consistently from outside: the provider says so.
    expect(await provider.changedBlocks("gamma", "vda", { kind: "bitmap", name: "cbt" })).toMatchObject({
      available: false,
    });
    await provider.writePatternThroughRunningVm("gamma", "vda", 2 * block, 2 * block, 0x5a);
    await provider.writePatternThroughRunningVm("gamma", "vdb", 0, block, 0x5b);
    await provider.powerOff("gamma"); // a clean quit stores the bitmap
    expect(await provider.changedBlocks("gamma", "vda", { kind: "bitmap", name: "cbt" })).toEqual({
      available: true,
      granularity: block,
      regions: [{ offset: 2 * block, length: 2 * block }],
    });
    expect(await provider.changedBlocks("gamma", "vdb", { kind: "bitmap", name: "cbt" })).toMatchObject({
      available: true,
      regions: [{ offset: 0, length: block }],
    });

    // A QEMU killed outright leaves the bitmap "in use": CBT is reported lost, never trusted.
    await provider.powerOn("gamma");
    await provider.writePatternThroughRunningVm("gamma", "vda", 6 * block, block, 0x5c);
    process.kill(qemuPid(provider.site, "gamma") ?? 0, "SIGKILL");
    await expect.poll(() => provider.powerState("gamma"), { timeout: 10_000 }).toBe("off");
    const lost = await provider.changedBlocks("gamma", "vda", { kind: "bitmap", name: "cbt" });
    expect(lost.available).toBe(false);
    expect(lost.available ? "" : lost.reason).toMatch(/in.use|inconsistent/);
    // Restarting tracking recovers from it.
    await provider.restartChangeTracking("gamma", "cbt");
    expect(await provider.changedBlocks("gamma", "vda", { kind: "bitmap", name: "cbt" })).toMatchObject({
      available: true,
      regions: [],
    });
  });

  it("creates a VM like another, once, with empty disks of the same sizes", async () => {
    const first = await provider.ensureVmLike("alpha", "Alpha Restored", { cpus: 2, memoryMib: 128 });
    const again = await provider.ensureVmLike("alpha", "Alpha Restored", { cpus: 2, memoryMib: 128 });
    expect(first.id).toBe(vmIdFromName("Alpha Restored"));
    expect(again).toEqual(first);
    expect(first).toMatchObject({ name: "Alpha Restored", cpus: 2, memoryMib: 128 });
    expect(first.disks.map((d) => d.sizeBytes)).toEqual([8 * MiB, 4 * MiB]);
    const disk = await provider.openDiskForRead(first.id, "vda");
    expect(await disk.dataRegions()).toEqual([]);
    await disk.close();
  });
});
