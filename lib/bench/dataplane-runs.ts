// The product's side of the data-plane benchmark: full sync, quick (CBT) sync and verification, each through the
// provider's disk access (qemu-storage-daemon + our NBD client) exactly as a failback would run them.
import path from "node:path";
import { type SyncResult, type VerifyResult, syncDisk, verifyDisk } from "@/lib/dataplane";
import { dirtyRegions } from "@/lib/providers/qemu/cbt";
import { openChainForRead, openChainForWrite } from "@/lib/providers/chain-export/disk-access";
import type { DiskHandle, Region } from "@/lib/providers/types";
import { type BenchDisks, copySparse } from "./bench-disks";
import { type CpuSnapshot, cpuSince, cpuSnapshot } from "./cpu";
import { createOverlay } from "./images";
import { timed } from "./timing";

/** A fresh copy of the unsynced target with a working overlay on top: what a sync writes into. */
export interface TargetChain {
  files: [base: string, overlay: string];
}

export async function freshTarget(disks: BenchDisks, name: string): Promise<TargetChain> {
  const base = path.join(disks.dir, `${name}-target.qcow2`);
  const overlay = path.join(disks.dir, `${name}-work.qcow2`);
  await copySparse(disks.target.qcow2, base);
  await createOverlay(base, overlay);
  return { files: [base, overlay] };
}

/** Opens every side (in parallel), runs the work, closes every side that opened — also when one failed. */
export async function withHandles<T>(
  open: Array<() => Promise<DiskHandle>>,
  work: (handles: DiskHandle[]) => Promise<T>,
): Promise<T> {
  const opened = await Promise.allSettled(open.map((o) => o()));
  const handles = opened.flatMap((o) => (o.status === "fulfilled" ? [o.value] : []));
  try {
    const failed = opened.find((o): o is PromiseRejectedResult => o.status === "rejected");
    if (failed) throw failed.reason;
    return await work(handles);
  } finally {
    // Closing the writable handle flushes it and stops its daemon cleanly: part of the work being timed.
    await Promise.all(handles.map((h) => h.close()));
  }
}

export interface SyncRun {
  /** Open both disks, sync (incl. read-back), close both: the whole job as a failback step runs it. */
  seconds: number;
  result: SyncResult;
  /** CPU seconds of this process (self) and of the storage daemons it ran (children). */
  cpu: CpuSnapshot;
}

export interface QuickRun extends SyncRun {
  /** Reading the source's dirty bitmap over NBD (included in seconds). */
  regionsSeconds: number;
  regions: Region[];
}

function syncBetween(disks: BenchDisks, target: TargetChain, name: string, regions?: Region[]): Promise<SyncResult> {
  return withHandles(
    [
      () => openChainForRead({ files: [disks.source.qcow2], runDir: disks.dir, exportName: `${name}-src` }),
      () => openChainForWrite({ files: target.files, runDir: disks.dir, exportName: `${name}-dst` }),
    ],
    ([source, dest]) =>
      syncDisk({ source: source as DiskHandle, target: dest as DiskHandle, ...(regions ? { regions } : {}) }),
  );
}

/** ours: the full diff of the whole disk + transfer of the differing blocks. */
export async function fullSync(disks: BenchDisks, target: TargetChain): Promise<SyncRun> {
  const cpuBefore = cpuSnapshot();
  const { value, seconds } = await timed(() => syncBetween(disks, target, "ours"));
  return { seconds, result: value, cpu: cpuSince(cpuBefore) };
}

/** quick: the changed regions come from CBT (the source's persistent dirty bitmap, read over NBD). */
export async function quickSync(disks: BenchDisks, target: TargetChain): Promise<QuickRun> {
  let regionsSeconds = 0;
  let regions: Region[] = [];
  const cpuBefore = cpuSnapshot();
  const { value, seconds } = await timed(async () => {
    const lookup = await timed(() =>
      dirtyRegions({ files: [disks.source.qcow2], runDir: disks.dir, bitmap: disks.bitmap }),
    );
    regionsSeconds = lookup.seconds;
    if (!lookup.value.available) throw new Error(`CBT unavailable: ${lookup.value.reason}`);
    regions = lookup.value.regions;
    return syncBetween(disks, target, "quick", regions);
  });
  return { seconds, result: value, regionsSeconds, regions, cpu: cpuSince(cpuBefore) };
}

export interface VerifyRun {
  seconds: number;
  cpu: CpuSnapshot;
  result: VerifyResult;
  /** The target's content digest was computed and equals the source's, and no block differs. */
  verified: boolean;
}

/** The switch-time check: sha256 of every block on both sides (read-only views). */
export async function verifyTarget(disks: BenchDisks, target: TargetChain, name: string): Promise<VerifyRun> {
  const cpuBefore = cpuSnapshot();
  const { value, seconds } = await timed(() =>
    withHandles(
      [
        () => openChainForRead({ files: [disks.source.qcow2], runDir: disks.dir, exportName: `${name}-vsrc` }),
        () => openChainForRead({ files: target.files, runDir: disks.dir, exportName: `${name}-vdst` }),
      ],
      ([source, dest]) => verifyDisk(source as DiskHandle, dest as DiskHandle),
    ),
  );
  const verified = value.ok && value.targetDigest.length > 0 && value.targetDigest === value.sourceDigest;
  return { seconds, result: value, verified, cpu: cpuSince(cpuBefore) };
}
