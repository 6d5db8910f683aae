// `npm run lab -- create`: a production site and a DR site of real VMs with real content — QEMU VMs in site
// folders (the default) or libvirt domains (`--provider libvirt`, lab-providers.ts) — each VM replicated twice
// (full, then incremental from the source's change tracking) and failed over, with writes made through the
// running replicas and some changes on the production side — so failback has real work to do.
import type { Db } from "@/lib/db/client";
import { appendAudit } from "@/lib/db/queries/audit";
import {
  markFailedOver,
  recordRestorePoint,
  upsertDisk,
  upsertHost,
  upsertReplica,
  upsertSite,
  upsertVm,
} from "@/lib/db/queries/estate";
import { ensureGuestImage } from "@/lib/guest/build-guest";
import type { VmInfo } from "@/lib/providers/types";
import { failover } from "@/lib/replication/failover";
import { replicate, sourceChangeTracking } from "@/lib/replication/replicate";
import { changeRandomBlocks, fillDisk, seededRandom } from "./content";
import { diskBytes, diskLabel, labSites, labVms, replicaVmId, type LabSize, type LabVm } from "./estate";
import {
  checkLabTag,
  checkLibvirtAnswers,
  DEFAULT_LAB_TAG,
  defaultLibvirtUri,
  labSiteProviders,
  type LabSiteProvider,
} from "./lab-providers";
import { readLabState, writeLabState, type LabProviderKind, type LabState } from "./lab-state";
import { resetLab } from "./reset-lab";

export interface CreateLabOptions {
  db: Db;
  labDir: string;
  guestCacheDir: string;
  size: LabSize;
  log?: (line: string) => void;
  /** Which VMs to build (default: the demo estate). Tests build one or two. */
  vms?: LabVm[];
  /** Site names in the inventory (default: the lab's); tests use their own so runs side by side never meet. */
  siteNames?: { production: string; dr: string };
  /** Where the VMs live (default qemu). */
  provider?: LabProviderKind;
  /** libvirt: the daemon (default FAILBACK_LIBVIRT_URI or qemu:///system) and the domain-name tag (default "lab"). */
  libvirt?: { uri?: string; tag?: string };
}

/** What a lab creation built: each lab VM with its provider ids (qemu: folder names; libvirt: domain UUIDs). */
export interface CreatedLab {
  provider: LabProviderKind;
  vms: { id: string; sourceVmId: string; sourceName: string; replicaVmId: string; replicaName: string }[];
}

export class LabExistsError extends Error {
  constructor(labDir: string) {
    super(`A lab exists already in ${labDir}. Run \`npm run lab -- reset\` first to build a new one.`);
    this.name = "LabExistsError";
  }
}

const cbtName = sourceChangeTracking;
const block = 64 * 1024;

export async function createLab(options: CreateLabOptions): Promise<CreatedLab> {
  const { db, labDir, size } = options;
  const log = options.log ?? (() => {});
  const existing = readLabState(labDir);
  if (existing?.state === "ready") throw new LabExistsError(labDir);
  if (existing) {
    log("An earlier lab creation was interrupted; clearing it first.");
    await resetLab(db, labDir, log);
  }
  const kind = options.provider ?? "qemu";
  const where: Pick<LabState, "provider" | "libvirt" | "siteNames"> = {
    provider: kind,
    ...(kind === "libvirt"
      ? { libvirt: { uri: options.libvirt?.uri ?? defaultLibvirtUri(), tag: options.libvirt?.tag ?? DEFAULT_LAB_TAG } }
      : {}),
    ...(options.siteNames ? { siteNames: options.siteNames } : {}),
  };
  if (where.libvirt) {
    checkLabTag(where.libvirt.tag);
    await checkLibvirtAnswers(where.libvirt.uri);
  }
  const stateOf = (state: LabState["state"]): LabState => ({
    state,
    size,
    createdAt: new Date().toISOString(),
    ...where,
  });
  writeLabState(labDir, stateOf("creating"));

  const sites = labSiteProviders(labDir, where, options.guestCacheDir);
  const { production, dr } = sites;
  const [prodSite, drSite] = [
    await upsertSite(db, options.siteNames?.production ?? labSites.production.name, production.description),
    await upsertSite(db, options.siteNames?.dr ?? labSites.dr.name, dr.description),
  ];
  const prodHost = await upsertHost(db, { siteId: prodSite.id, ...production.host });
  const drHost = await upsertHost(db, { siteId: drSite.id, ...dr.host });

  const estate = options.vms ?? labVms;
  if (estate.some((vm) => vm.tinyGuest)) {
    log("Preparing the tiny Linux guest (first time only: downloads Debian's kernel and busybox)…");
    await ensureGuestImage(options.guestCacheDir, { log });
  }

  const recordVm = async (hostId: string, vm: VmInfo) => {
    const row = await upsertVm(db, {
      hostId,
      externalId: vm.id,
      name: vm.name,
      cpus: vm.cpus,
      memoryMib: vm.memoryMib,
      guestAgent: vm.guestAgent,
      config: vm.config,
    });
    for (const disk of vm.disks)
      await upsertDisk(db, { vmId: row.id, label: disk.label, sizeBytes: disk.sizeBytes, locator: disk.locator });
    return row;
  };

  const built: CreatedLab["vms"] = [];
  for (const [index, spec] of estate.entries()) {
    const seed = 1000 + index * 97;
    log(
      `${spec.name}: creating the production VM with ${spec.diskUnits.length} disk${spec.diskUnits.length === 1 ? "" : "s"}`,
    );
    const source = await production.createVm({
      id: spec.id,
      name: spec.name,
      cpus: 1,
      memoryMib: spec.tinyGuest ? 256 : 64,
      guestAgent: spec.guestAgent,
      tiny: spec.tinyGuest,
      disks: spec.diskUnits.map((units, d) => ({ label: diskLabel(d), sizeBytes: diskBytes(size, units) })),
    });
    for (const [d, disk] of source.disks.entries()) {
      const handle = await production.openTopForWrite(source.id, disk.label);
      try {
        await fillDisk(handle, seed + d, size === "demo" ? 0.02 : 0.25);
      } finally {
        await handle.close();
      }
    }
    const sourceRow = await recordVm(prodHost.id, source);

    const replica = await dr.createVm({
      id: replicaVmId(spec.id),
      name: `${spec.name} (replica)`,
      cpus: source.cpus,
      memoryMib: source.memoryMib,
      guestAgent: source.guestAgent,
      tiny: spec.tinyGuest,
      disks: source.disks.map((disk) => ({ label: disk.label, sizeBytes: disk.sizeBytes })),
    });
    const replicaRow = await recordVm(drHost.id, replica);
    const replicaRecord = await upsertReplica(db, { sourceVmId: sourceRow.id, replicaVmId: replicaRow.id });

    log(`${spec.name}: replicating (full copy)`);
    const first = await replicate({
      source: production.provider,
      sourceVmId: source.id,
      target: dr.provider,
      replicaVmId: replica.id,
      seq: 1,
      cbtName,
      log,
    });
    await recordRestorePoint(db, {
      replicaId: replicaRecord.id,
      seq: 1,
      kind: "full",
      locator: { layer: first.layer },
      sizeBytes: first.bytesCopied,
    });

    // The source keeps working between replications.
    await changeEveryDisk(production, source, seed * 7, 12);
    log(`${spec.name}: replicating (incremental, from the source's change tracking)`);
    const second = await replicate({
      source: production.provider,
      sourceVmId: source.id,
      target: dr.provider,
      replicaVmId: replica.id,
      seq: 2,
      cbtName,
      log,
    });
    const rp2 = await recordRestorePoint(db, {
      replicaId: replicaRecord.id,
      seq: 2,
      kind: second.mode === "incremental" ? "incremental" : "full",
      locator: { layer: second.layer },
      sizeBytes: second.bytesCopied,
    });

    log(`${spec.name}: failing over to the replica`);
    await failover(dr.provider, replica.id);
    await markFailedOver(db, replicaRecord.id, rp2.id);

    // Users keep working on the replica: real writes through the running VM's block layer.
    const random = seededRandom(seed * 13);
    for (const disk of replica.disks) {
      const blocks = Math.floor(disk.sizeBytes / block);
      for (let i = 0; i < 10; i++) {
        const offset = Math.floor(random() * blocks) * block;
        await dr.writePatternThroughRunningVm(replica.id, disk.label, offset, block, 0x20 + ((i * 37 + index) % 200));
      }
      await dr.writePatternThroughRunningVm(replica.id, disk.label, Math.floor(blocks / 3) * block, 16 * block, 0xc3);
    }
    // And the production side changed a little after the last replication (say, before the disaster struck).
    await changeEveryDisk(production, source, seed * 11, 3);
    built.push({
      id: spec.id,
      sourceVmId: source.id,
      sourceName: source.name,
      replicaVmId: replica.id,
      replicaName: replica.name,
    });
  }
  writeLabState(labDir, stateOf("ready"));
  await appendAudit(db, {
    actorLabel: "system",
    action: "lab.create",
    outcome: "ok",
    details: { size, vms: estate.length, provider: kind },
  });
  log(`The lab is ready: ${estate.length} replicas in failover.`);
  return { provider: kind, vms: built };
}

/** Overwrites `blocksPerDisk` random blocks on each disk of a powered-off VM (marking its dirty bitmap). */
async function changeEveryDisk(
  provider: LabSiteProvider,
  vm: VmInfo,
  seed: number,
  blocksPerDisk: number,
): Promise<void> {
  for (const [d, disk] of vm.disks.entries()) {
    const handle = await provider.openTopForWrite(vm.id, disk.label);
    try {
      await changeRandomBlocks(handle, seed + d, blocksPerDisk);
    } finally {
      await handle.close();
    }
  }
}
