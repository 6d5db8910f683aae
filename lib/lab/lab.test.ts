// The lab on real QEMU and qcow2 with small disks: create, check what it built, reset leaves nothing behind — as
// qemu-site folders, and (where libvirtd answers) as libvirt domains.
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { listReplicas } from "@/lib/db/queries/replicas";
import { QemuProvider } from "@/lib/providers/qemu/provider";
import { testDatabase } from "@/lib/testing/db";
import { intersectRegions, normalizeRegions } from "@/lib/dataplane/regions";
import { describeWithLibvirt, LIBVIRT_URI } from "@/lib/testing/libvirt";
import { LibvirtProvider } from "@/lib/providers/libvirt/provider";
import type { DiskHandle, Provider } from "@/lib/providers/types";
import { createLab, LabExistsError, type CreatedLab } from "./create-lab";
import { labSites, labVms, replicaVmId, type LabVm } from "./estate";
import { labDomainPrefix, removeLabDomains } from "./lab-providers";
import { readLabState } from "./lab-state";
import { formatLabStatus, labStatus } from "./lab-status";
import { processesMentioning } from "@/lib/providers/qemu/processes";
import { resetLab } from "./reset-lab";

const database = testDatabase();
const root = fs.mkdtempSync(path.join(os.tmpdir(), "failback-lab-"));
const labDir = path.join(root, "lab");
const guestCacheDir = process.env.FAILBACK_GUEST_CACHE ?? path.join(os.tmpdir(), "failback-guest-cache");
const block = 64 * 1024;

afterAll(async () => {
  await resetLab(database.db, labDir).catch(() => {});
  await database.close();
  fs.rmSync(root, { recursive: true, force: true });
});

/** Which blocks of two views differ (64 KiB granularity). */
async function differingBlocks(a: DiskHandle, b: DiskHandle): Promise<{ offset: number; length: number }[]> {
  const differing: { offset: number; length: number }[] = [];
  for (let offset = 0; offset < a.sizeBytes; offset += block) {
    const [x, y] = await Promise.all([a.read(offset, block), b.read(offset, block)]);
    if (!x.equals(y)) differing.push({ offset, length: block });
  }
  return differing;
}

/**
 * The replica (frozen below its failover layer = restore point 2) differs from production only where production
 * changed since (the source's change tracking), and the running replica wrote data into its failover layer.
 */
async function expectRealDifferences(
  production: Provider,
  sourceId: string,
  dr: Provider,
  replicaId: string,
): Promise<void> {
  for (const disk of (await production.getVm(sourceId)).disks) {
    const dirty = await production.changedBlocks(sourceId, disk.label, { kind: "bitmap", name: "cbt" });
    expect(dirty.available, dirty.available ? "" : dirty.reason).toBe(true);
    const failoverWrites = await dr.changedBlocks(replicaId, disk.label, { kind: "layer", name: "failover" });
    expect(failoverWrites.available && failoverWrites.regions.length > 0).toBe(true);

    const source = await production.openDiskForRead(sourceId, disk.label);
    const replica = await dr.openDiskForRead(replicaId, disk.label, { at: "failover" });
    let differing: { offset: number; length: number }[];
    try {
      differing = await differingBlocks(source, replica);
    } finally {
      await source.close();
      await replica.close();
    }
    expect(differing.length).toBeGreaterThan(0);
    const explained = intersectRegions(normalizeRegions(differing), dirty.available ? dirty.regions : []);
    expect(normalizeRegions(explained)).toEqual(normalizeRegions(differing));
  }
}

describe("the lab", () => {
  it("builds two sites of real VMs, replicated twice and failed over, recorded in the database", async () => {
    const lines: string[] = [];
    await createLab({ db: database.db, labDir, guestCacheDir, size: "small", log: (l) => lines.push(l) });

    const status = await labStatus(database.db, labDir, guestCacheDir);
    expect(status.state).toBe("ready");
    expect(status.replicas).toHaveLength(labVms.length);
    for (const replica of status.replicas) {
      expect(replica.state).toBe("failover");
      expect(replica.restorePoints).toBe(2);
    }
    const replicaVms = status.vms.filter((vm) => vm.site === labSites.dr.name);
    expect(replicaVms.every((vm) => vm.power === "running")).toBe(true);
    expect(status.vms.filter((vm) => vm.site === labSites.production.name).every((vm) => vm.power === "off")).toBe(
      true,
    );
    expect(labVms.filter((vm) => vm.guestAgent).length).toBeGreaterThanOrEqual(2);
    expect(labVms.some((vm) => vm.diskUnits.length === 2)).toBe(true);

    const rows = await listReplicas(database.db);
    expect(rows.filter((r) => r.sourceSiteName === labSites.production.name)).toHaveLength(labVms.length);
    const rp = await database.sql`
      select rp.kind, count(*)::int as n from restore_points rp
      join replicas r on r.id = rp.replica_id join vms v on v.id = r.replica_vm_id
      join hosts h on h.id = v.host_id join sites s on s.id = h.site_id
      where s.name = ${labSites.dr.name} group by rp.kind order by rp.kind`;
    expect(rp).toEqual([
      { kind: "full", n: labVms.length },
      { kind: "incremental", n: labVms.length },
    ]);

    // Real differences, explained by the source's change tracking.
    const production = new QemuProvider({ siteDir: path.join(labDir, labSites.production.folder), guestCacheDir });
    const dr = new QemuProvider({ siteDir: path.join(labDir, labSites.dr.folder), guestCacheDir });
    const spec = labVms.find((vm) => vm.diskUnits.length === 2) ?? labVms[0];
    if (!spec) throw new Error("no lab VM");
    await expectRealDifferences(production, spec.id, dr, replicaVmId(spec.id));

    await expect(createLab({ db: database.db, labDir, guestCacheDir, size: "small" })).rejects.toBeInstanceOf(
      LabExistsError,
    );
  }, 300_000);

  it("reset stops every VM and daemon and removes every file and record", async () => {
    expect(processesMentioning(labDir).length).toBeGreaterThan(0);
    await resetLab(database.db, labDir);
    expect(processesMentioning(labDir)).toEqual([]);
    expect(fs.existsSync(labDir)).toBe(false);
    const sites =
      await database.sql`select name from sites where name in (${labSites.production.name}, ${labSites.dr.name})`;
    expect(sites).toHaveLength(0);
    expect((await labStatus(database.db, labDir, guestCacheDir)).state).toBe("absent");
  }, 60_000);
});

describeWithLibvirt("the lab on libvirt", () => {
  const tag = crypto.randomBytes(3).toString("hex");
  const dir = path.join(root, "libvirt-lab");
  const siteNames = { production: `Production (libvirt ${tag})`, dr: `DR (libvirt ${tag})` };
  const vms: LabVm[] = [
    { id: "lv-web", name: "lv-web", tinyGuest: true, guestAgent: true, diskUnits: [1] },
    { id: "lv-db", name: "lv-db", tinyGuest: false, guestAgent: false, diskUnits: [1, 1] },
  ];
  const libvirt = new LibvirtProvider({ uri: LIBVIRT_URI });
  const domainNames = () =>
    (spawnSync("virsh", ["-q", "-c", LIBVIRT_URI, "list", "--all", "--name"], { encoding: "utf8" }).stdout ?? "")
      .split("\n")
      .map((l) => l.trim())
      .filter((name) => name.startsWith(labDomainPrefix(tag)));
  let created: CreatedLab | undefined;

  afterAll(async () => {
    await resetLab(database.db, dir).catch(() => {});
    // Whatever the reset could not reach (a lab.json never written, say): the domains go all the same.
    await removeLabDomains(dir, LIBVIRT_URI, tag).catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("builds the estate as libvirt domains on one daemon, replicated twice and failed over", async () => {
    created = await createLab({
      db: database.db,
      labDir: dir,
      guestCacheDir,
      size: "small",
      vms,
      siteNames,
      provider: "libvirt",
      libvirt: { uri: LIBVIRT_URI, tag },
    });
    expect(readLabState(dir)).toMatchObject({
      state: "ready",
      provider: "libvirt",
      libvirt: { uri: LIBVIRT_URI, tag },
    });
    expect(domainNames().sort()).toEqual(
      vms.flatMap((vm) => [`fb-${tag}-${vm.id}`, `fb-${tag}-${vm.id}-replica`]).sort(),
    );

    const status = await labStatus(database.db, dir, guestCacheDir);
    expect(status).toMatchObject({ state: "ready", provider: "libvirt" });
    expect(formatLabStatus(status)).toContain(`libvirt domains fb-${tag}-* on ${LIBVIRT_URI}`);
    expect(status.vms).toHaveLength(vms.length * 2);
    expect(status.vms.filter((vm) => vm.site === siteNames.dr).every((vm) => vm.power === "running")).toBe(true);
    expect(status.vms.filter((vm) => vm.site === siteNames.production).every((vm) => vm.power === "off")).toBe(true);
    expect(status.vms.filter((vm) => vm.site === siteNames.dr)).toHaveLength(vms.length);
    expect(status.replicas).toHaveLength(vms.length);
    for (const replica of status.replicas) expect(replica).toMatchObject({ state: "failover", restorePoints: 2 });

    const hostRows = await database.sql`
      select h.provider_kind, h.connection, s.name as site from hosts h join sites s on s.id = h.site_id
      where s.name in (${siteNames.production}, ${siteNames.dr}) order by s.name`;
    expect(hostRows).toEqual([
      {
        provider_kind: "libvirt",
        connection: { uri: LIBVIRT_URI, storageDir: path.join(dir, "dr") },
        site: siteNames.dr,
      },
      {
        provider_kind: "libvirt",
        connection: { uri: LIBVIRT_URI, storageDir: path.join(dir, "production") },
        site: siteNames.production,
      },
    ]);

    const lvDb = created.vms.find((vm) => vm.id === "lv-db");
    if (!lvDb) throw new Error("lv-db was not built");
    const source = await libvirt.getVm(lvDb.sourceVmId);
    expect(source.disks.map((d) => path.dirname(d.locator))).toEqual([
      path.join(dir, "production"),
      path.join(dir, "production"),
    ]);
    expect((await libvirt.listSnapshots(lvDb.replicaVmId)).map((s) => s.name)).toEqual(["rp-1", "rp-2", "failover"]);
    await expectRealDifferences(libvirt, lvDb.sourceVmId, libvirt, lvDb.replicaVmId);

    await expect(
      createLab({ db: database.db, labDir: dir, guestCacheDir, size: "small", vms, siteNames, provider: "libvirt" }),
    ).rejects.toBeInstanceOf(LabExistsError);
  }, 300_000);

  it("reset destroys and undefines every domain, and removes every file and record", async () => {
    expect(domainNames().length).toBeGreaterThan(0);
    // A domain whose disk image is gone (removed by hand, say) is still the lab's: status shows it, reset removes it.
    const web = created?.vms.find((vm) => vm.id === "lv-web");
    if (!web) throw new Error("lv-web was not built");
    fs.rmSync((await libvirt.getVm(web.sourceVmId)).disks[0]?.locator as string);
    const broken = (await labStatus(database.db, dir, guestCacheDir)).vms.find((vm) => vm.id === web.sourceVmId);
    expect(broken?.disks.join(" ")).toMatch(/^unreadable: /);
    await resetLab(database.db, dir);
    expect(domainNames()).toEqual([]);
    expect(fs.existsSync(dir)).toBe(false);
    expect(processesMentioning(dir)).toEqual([]);
    const sites = await database.sql`select name from sites where name in (${siteNames.production}, ${siteNames.dr})`;
    expect(sites).toHaveLength(0);
    expect((await labStatus(database.db, dir, guestCacheDir)).state).toBe("absent");
  }, 120_000);
});
