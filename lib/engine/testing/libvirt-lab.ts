// The engine tests' lab on libvirt: the lab's estate built as libvirt domains (lib/lab, provider "libvirt") on
// the test daemon, both sites on it with their own storage folders in a temporary folder, every domain named
// `fb-<tag>-…` with a tag of its own — and the engine with an in-process worker on top, as test-engine.ts does
// for qemu. The teardown removes every domain of the lab (the prefix, and any domain with disks in the lab's
// folder, such as a new-location VM), also when the lab was only half built.
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { eq, inArray } from "drizzle-orm";
import type { Database, Db } from "@/lib/db/client";
import { upsertHost } from "@/lib/db/queries/estate";
import { replicas, sites, vms } from "@/lib/db/schema";
import type { LibvirtProvider } from "@/lib/providers/libvirt/provider";
import { createLab } from "@/lib/lab/create-lab";
import type { LabVm } from "@/lib/lab/estate";
import { findLabDomains, labDomainName, libvirtLabProvider } from "@/lib/lab/lab-providers";
import { removeLabMachines } from "@/lib/lab/reset-lab";
import { LIBVIRT_URI } from "@/lib/testing/libvirt";
import type { WorkerOptions } from "../worker-main";
import { testGuestCacheDir } from "./harness";
import { startEngineOn, type TestEngine } from "./test-engine";
import { missingWritesIn, type RecordedWrite } from "./invariants";

/** Where the worker's libvirt providers keep export sockets and pid files (their default run folder). */
const workerRunDir = path.join(os.tmpdir(), "failback-libvirt-run");

export interface LibvirtTestLab {
  dir: string;
  uri: string;
  tag: string;
  production: LibvirtProvider;
  dr: LibvirtProvider;
  siteNames: { production: string; dr: string };
  /** Per lab VM id: the replica's row id, and the domain UUIDs of its source and replica. */
  replicaIds: Record<string, string>;
  sourceVmIds: Record<string, string>;
  replicaVmIds: Record<string, string>;
  /** A domain name within the lab's prefix (new-location VMs). */
  domainName(id: string): string;
  /** One more libvirt host on the production site: the same daemon, a storage folder of its own in the lab. */
  addProductionHost(name: string, folder: string): Promise<{ id: string; storageDir: string }>;
  cleanup(): Promise<void>;
}

export async function createLibvirtTestLab(db: Db, vmsToBuild: LabVm[]): Promise<LibvirtTestLab> {
  const tag = crypto.randomBytes(3).toString("hex");
  // Short: the storage daemons' sockets are named after the disks' folders.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fbl-"));
  const siteNames = { production: `Production libvirt ${tag}`, dr: `DR libvirt ${tag}` };
  const cleanup = async () => {
    const domains = await findLabDomains(dir, LIBVIRT_URI, tag).catch(() => []);
    await removeLabMachines(dir);
    fs.rmSync(dir, { recursive: true, force: true });
    // The run folders the worker's providers made for these domains (the provider never removes them).
    for (const { id } of domains) fs.rmSync(path.join(workerRunDir, id), { recursive: true, force: true });
  };
  let created: Awaited<ReturnType<typeof createLab>>;
  try {
    created = await createLab({
      db,
      labDir: dir,
      guestCacheDir: testGuestCacheDir(),
      size: "small",
      vms: vmsToBuild,
      siteNames,
      provider: "libvirt",
      libvirt: { uri: LIBVIRT_URI, tag },
    });
  } catch (err) {
    await cleanup().catch(() => {});
    throw err;
  }
  const rows = await db
    .select({ id: replicas.id, ext: vms.externalId })
    .from(replicas)
    .innerJoin(vms, eq(vms.id, replicas.replicaVmId))
    .where(
      inArray(
        vms.externalId,
        created.vms.map((vm) => vm.replicaVmId),
      ),
    );
  const replicaIds: Record<string, string> = {};
  const sourceVmIds: Record<string, string> = {};
  const replicaVmIds: Record<string, string> = {};
  for (const vm of created.vms) {
    const row = rows.find((r) => r.ext === vm.replicaVmId);
    if (!row) throw new Error(`the test lab has no replica of ${vm.id}`);
    replicaIds[vm.id] = row.id;
    sourceVmIds[vm.id] = vm.sourceVmId;
    replicaVmIds[vm.id] = vm.replicaVmId;
  }
  return {
    dir,
    uri: LIBVIRT_URI,
    tag,
    production: libvirtLabProvider(dir, "production", LIBVIRT_URI),
    dr: libvirtLabProvider(dir, "dr", LIBVIRT_URI),
    siteNames,
    replicaIds,
    sourceVmIds,
    replicaVmIds,
    domainName: (id) => labDomainName(tag, id),
    addProductionHost: async (name, folder) => {
      const [site] = await db.select({ id: sites.id }).from(sites).where(eq(sites.name, siteNames.production));
      if (!site) throw new Error("the test lab has no production site");
      const storageDir = path.join(dir, folder);
      const host = await upsertHost(db, {
        siteId: site.id,
        name,
        providerKind: "libvirt",
        connection: { uri: LIBVIRT_URI, storageDir },
      });
      return { id: host.id, storageDir };
    },
    cleanup,
  };
}

/** The top image file of a domain's disk (a libvirt VM's disk locator), as the definition names it now. */
export async function libvirtTopFile(provider: LibvirtProvider, vmId: string, disk: string): Promise<string> {
  const found = (await provider.getVm(vmId)).disks.find((d) => d.label === disk);
  if (!found) throw new Error(`VM ${vmId} has no disk ${disk}`);
  return found.locator;
}

/** I2 on libvirt: the last write to each place is on the production domain's disk. */
export function missingLibvirtWrites(
  production: LibvirtProvider,
  vmId: string,
  writes: RecordedWrite[],
): Promise<RecordedWrite[]> {
  return missingWritesIn((disk) => libvirtTopFile(production, vmId, disk), writes);
}

export type LibvirtTestEngine = TestEngine<LibvirtTestLab>;

/** startTestEngine (test-engine.ts) on a libvirt lab. */
export async function startLibvirtTestEngine(
  database: Database,
  vmsToBuild: LabVm[],
  options: { beforeStep?: WorkerOptions["beforeStep"] } = {},
): Promise<LibvirtTestEngine> {
  return startEngineOn(database, await createLibvirtTestLab(database.db, vmsToBuild), options);
}
