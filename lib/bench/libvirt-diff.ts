// The data-plane benchmark's full diff, read three ways from the same source disk into a fresh copy of the same
// target, so the table says what libvirt adds or costs on the read path:
//   qemu_provider     exactly dataplane-runs.ts fullSync: a storage-daemon export of source.qcow2 (the baseline);
//   libvirt_provider  the libvirt provider's own handles on two domains whose disks are the bench images: a
//                     stopped source domain (openDiskForRead) and a target domain with a working snapshot made
//                     by the provider (openSnapshotForWrite) — storage-daemon exports of the domains' files;
//   libvirt_backup    the source domain running, read through libvirt's pull-mode backup export (QEMU's own NBD
//                     server) by our client; written into a storage-daemon export of a fresh target as in (a).
// Every timed part covers what a failback step would do: open both sides, diff + transfer + read-back, close.
// Setting up (copies, domain definitions, the snapshot, starting the domain) happens before it, untimed.
import { rm } from "node:fs/promises";
import path from "node:path";
import { type SyncResult, syncDisk } from "@/lib/dataplane";
import { removeDomain } from "@/lib/providers/libvirt/domains";
import type { LibvirtHost } from "@/lib/providers/libvirt/host";
import type { LibvirtProvider } from "@/lib/providers/libvirt/provider";
import { openChainForWrite } from "@/lib/providers/chain-export/disk-access";
import type { DiskHandle } from "@/lib/providers/types";
import { type BenchDisks, copySparse } from "./bench-disks";
import { type CpuSnapshot, cpuSince, cpuSnapshot } from "./cpu";
import { freshTarget, fullSync, withHandles } from "./dataplane-runs";
import { openPullBackup } from "./libvirt-backup";
import { defineDomainOnFiles, domainQemuCpuSeconds } from "./libvirt-domains";
import { qemuImgCompare } from "./peers";
import { timed } from "./timing";

export const PEERS = [
  { key: "qemu_provider", name: "qemu provider (storage-daemon export)" },
  { key: "libvirt_provider", name: "libvirt provider (storage-daemon export of the domain's files)" },
  { key: "libvirt_backup", name: "libvirt pull-mode backup export" },
] as const;

export type PeerKey = (typeof PEERS)[number]["key"];

export interface PeerRun {
  /** Open both sides, sync (diff, transfer, read-back), close both. */
  seconds: number;
  result: SyncResult;
  /** This process and its reaped children (storage daemons, virsh, qemu-img). */
  cpu: CpuSnapshot;
  /** CPU of the running source domain's QEMU during the timed part (backup export only: its NBD server). */
  domainQemuCpu: number | undefined;
  /**
   * What that QEMU burns anyway while it idles (its vCPU runs firmware under TCG), per second, measured over the
   * pause before the timed part: the share of domainQemuCpu that is not the export's.
   */
  domainQemuIdleCpuPerSecond: number | undefined;
  /** Untimed preparation: defining domains and the working snapshot (b), starting the domain (c). */
  setupSeconds: number;
  /** qemu-img compare of source and synced target: identical. */
  identical: boolean;
}

export interface LibvirtDiffContext {
  disks: BenchDisks;
  host: LibvirtHost;
  provider: LibvirtProvider;
  /** This run's domain name prefix (libvirt-domains.ts). */
  tag: string;
  /** Short folder for sockets (the backup export's, the provider's exports live in the provider's runDir). */
  socketDir: string;
  sourceName: string;
  sourceUuid: string;
  /** Settle writes and drop the page cache, as bench-dataplane does before every timed part. */
  beforeTimedPart: () => Promise<void>;
}

const SNAPSHOT = "bench-work";

/** Defines the source domain once: vda is the bench's source.qcow2 itself, stopped. */
export async function prepareLibvirtDiff(
  context: Omit<LibvirtDiffContext, "sourceName" | "sourceUuid">,
): Promise<LibvirtDiffContext> {
  const sourceName = `${context.tag}-bsrc`;
  const sourceUuid = await defineDomainOnFiles(context.host, sourceName, [
    { label: "vda", file: context.disks.source.qcow2 },
  ]);
  return { ...context, sourceName, sourceUuid };
}

function sync(source: () => Promise<DiskHandle>, target: () => Promise<DiskHandle>): Promise<SyncResult> {
  return withHandles([source, target], ([s, t]) => syncDisk({ source: s as DiskHandle, target: t as DiskHandle }));
}

/** (a) The baseline: bench-dataplane's "ours" on its own fresh target. */
export async function runQemuProvider(context: LibvirtDiffContext): Promise<PeerRun> {
  const { disks } = context;
  const setup = await timed(() => freshTarget(disks, "qemu"));
  const target = setup.value;
  try {
    await context.beforeTimedPart();
    const run = await fullSync(disks, target);
    const compare = await qemuImgCompare(disks.source.qcow2, target.files[1]);
    return {
      ...run,
      domainQemuCpu: undefined,
      domainQemuIdleCpuPerSecond: undefined,
      setupSeconds: setup.seconds,
      identical: compare.identical,
    };
  } finally {
    for (const file of target.files) await rm(file, { force: true });
  }
}

/** (b) Both sides through the libvirt provider: the stopped source domain and a target domain's working snapshot. */
export async function runLibvirtProvider(context: LibvirtDiffContext, round: number): Promise<PeerRun> {
  const { disks, host, provider } = context;
  const copy = path.join(disks.dir, `lvp-target-${round}.qcow2`);
  let targetUuid: string | undefined;
  let overlay: string | undefined;
  try {
    const setup = await timed(async () => {
      await copySparse(disks.target.qcow2, copy);
      targetUuid = await defineDomainOnFiles(host, `${context.tag}-bdst${round}`, [{ label: "vda", file: copy }]);
      await provider.ensureSnapshot(targetUuid, SNAPSHOT, "working");
      overlay = (await provider.getVm(targetUuid)).disks[0]?.locator;
      return targetUuid;
    });
    const uuid = setup.value;
    await context.beforeTimedPart();
    const cpuBefore = cpuSnapshot();
    const { value, seconds } = await timed(() =>
      sync(
        () => provider.openDiskForRead(context.sourceUuid, "vda"),
        () => provider.openSnapshotForWrite(uuid, "vda", SNAPSHOT),
      ),
    );
    const cpu = cpuSince(cpuBefore);
    if (!overlay || overlay === copy) throw new Error(`the target domain's vda is not on snapshot ${SNAPSHOT}`);
    const compare = await qemuImgCompare(disks.source.qcow2, overlay);
    return {
      seconds,
      result: value,
      cpu,
      domainQemuCpu: undefined,
      domainQemuIdleCpuPerSecond: undefined,
      setupSeconds: setup.seconds,
      identical: compare.identical,
    };
  } finally {
    if (targetUuid) await removeDomain(host, targetUuid);
    for (const file of [copy, overlay]) if (file) await rm(file, { force: true });
  }
}

/** (c) The running source domain read through libvirt's pull-mode backup export; the domain is stopped after. */
export async function runBackupExport(context: LibvirtDiffContext, round: number): Promise<PeerRun> {
  const { disks, provider } = context;
  let target: Awaited<ReturnType<typeof freshTarget>> | undefined;
  let started = false;
  try {
    const setup = await timed(async () => {
      target = await freshTarget(disks, "backup");
      started = true;
      await provider.powerOn(context.sourceUuid);
      return target;
    });
    const chain = setup.value;
    const idle = await timed(async () => {
      const before = domainQemuCpuSeconds(context.sourceName);
      await context.beforeTimedPart();
      return before;
    });
    const qemuCpuBefore = domainQemuCpuSeconds(context.sourceName);
    const domainQemuIdleCpuPerSecond =
      idle.value !== undefined && qemuCpuBefore !== undefined ? (qemuCpuBefore - idle.value) / idle.seconds : undefined;
    const cpuBefore = cpuSnapshot();
    const { value, seconds } = await timed(() =>
      sync(
        () =>
          openPullBackup({
            host: context.host,
            domain: context.sourceUuid,
            disk: "vda",
            socketPath: path.join(context.socketDir, `backup-${round}.sock`),
            scratchFile: path.join(disks.dir, `backup-scratch-${round}.qcow2`),
            xmlFile: path.join(disks.dir, `backup-${round}.xml`),
          }),
        () => openChainForWrite({ files: chain.files, runDir: disks.dir, exportName: "backup-dst" }),
      ),
    );
    const cpu = cpuSince(cpuBefore);
    const qemuCpuAfter = domainQemuCpuSeconds(context.sourceName);
    const domainQemuCpu =
      qemuCpuBefore !== undefined && qemuCpuAfter !== undefined ? qemuCpuAfter - qemuCpuBefore : undefined;
    // Stopped before comparing: the running QEMU holds source.qcow2's write lock.
    await provider.powerOff(context.sourceUuid);
    started = false;
    const compare = await qemuImgCompare(disks.source.qcow2, chain.files[1]);
    return {
      seconds,
      result: value,
      cpu,
      domainQemuCpu,
      domainQemuIdleCpuPerSecond,
      setupSeconds: setup.seconds,
      identical: compare.identical,
    };
  } finally {
    if (started) await provider.powerOff(context.sourceUuid).catch(() => {});
    for (const file of target?.files ?? []) await rm(file, { force: true });
  }
}

/** Undefines the source domain (the images stay: they belong to the bench folder). */
export async function cleanupLibvirtDiff(context: LibvirtDiffContext): Promise<void> {
  await removeDomain(context.host, context.sourceUuid);
}
