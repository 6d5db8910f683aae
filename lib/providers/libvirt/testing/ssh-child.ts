// The provider contract's core, run against a libvirt host across SSH by a process that cannot see the host's
// storage folder (the test starts it in a mount namespace where the folder is covered): every file-level step
// must go through SSH. Prints one JSON line of what it saw; the test judges it.
//   node --import tsx ssh-child.ts <uri> <storageDir> <tag>
import fs from "node:fs";
import { LibvirtProvider } from "../provider";

const [uri, storageDir, tag] = process.argv.slice(2) as [string, string, string];
const provider = new LibvirtProvider({ uri, storageDir });
const block = 64 * 1024;
const timings: Record<string, number> = {};
const timed = async <T>(key: string, work: () => Promise<T>): Promise<T> => {
  const started = Date.now();
  try {
    return await work();
  } finally {
    timings[key] = Date.now() - started;
  }
};
const byteAt = async (vmId: string, offset: number, at?: string) => {
  const handle = await provider.openDiskForRead(vmId, "vda", at ? { at } : {});
  try {
    return (await handle.read(offset, 1))[0];
  } finally {
    await handle.close();
  }
};

const seen: Record<string, unknown> = {
  storageVisible: fs.existsSync(storageDir) && fs.readdirSync(storageDir).length > 0,
};
const vm = await timed("create", () =>
  provider.createVm({ name: `${tag}-ssh`, guestAgent: false, disks: [{ label: "vda", sizeBytes: 16 * 1024 * 1024 }] }),
);
seen.disks = vm.disks.map((d) => [d.label, d.sizeBytes]);
seen.localFileVisible = fs.existsSync(vm.disks[0]?.locator ?? "");
const top = await timed("openTopForWrite", () => provider.openTopForWrite(vm.id, "vda"));
await top.write(0, Buffer.alloc(block, 0x11));
await top.close();
await timed("restartChangeTracking", () => provider.restartChangeTracking(vm.id, "cbt"));
const again = await provider.openTopForWrite(vm.id, "vda");
await again.write(2 * block, Buffer.alloc(block, 0x12));
await again.close();
seen.changedOffline = await timed("changedBlocks", () =>
  provider.changedBlocks(vm.id, "vda", { kind: "bitmap", name: "cbt" }),
);
await timed("ensureSnapshotOffline", () => provider.ensureSnapshot(vm.id, "w1", "working"));
const delta = await provider.openSnapshotForWrite(vm.id, "vda", "w1");
await delta.write(3 * block, Buffer.alloc(block, 0x13));
await delta.close();
seen.belowW1 = await byteAt(vm.id, 3 * block, "w1");
await timed("commitOffline", () => provider.removeSnapshotKeepingChanges(vm.id, "w1"));
seen.afterCommit = await byteAt(vm.id, 3 * block);
await timed("powerOn", () => provider.powerOn(vm.id));
await timed("ensureSnapshotLive", () => provider.ensureSnapshot(vm.id, "p1", "protective"));
await provider.writePatternThroughRunningVm(vm.id, "vda", 4 * block, block, 0x22);
seen.frozen = await timed("openFrozenRead", () => byteAt(vm.id, 4 * block, "p1"));
seen.sinceCbtBelowP1 = await provider.changedBlocks(vm.id, "vda", { kind: "bitmap", name: "cbt", below: "p1" });
await timed("mergeLive", () => provider.removeSnapshotKeepingChanges(vm.id, "p1"));
seen.shutdown = (await timed("shutdownForced", () => provider.shutdownGuest(vm.id, { timeoutMs: 2_000 }))).path;
seen.afterMerge = await byteAt(vm.id, 4 * block);
seen.reconcile = await provider.reconcile(vm.id);
const like = await timed("ensureVmLike", () => provider.ensureVmLike(vm.id, `${tag}-ssh-like`, { cpus: 2 }));
seen.like = { cpus: like.cpus, disks: like.disks.map((d) => [d.label, d.sizeBytes]) };
seen.freeSpace = (await provider.freeSpaceBytes(vm.id)) > 0;
seen.snapshots = await provider.listSnapshots(vm.id);
seen.timings = timings;
process.stdout.write(`${JSON.stringify(seen)}\n`);
