// The lab on real QEMU and qcow2 with small disks: create, check what it built, reset leaves nothing behind.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { listReplicas } from "@/lib/db/queries/replicas";
import { QemuProvider } from "@/lib/providers/qemu/provider";
import { testDatabase } from "@/lib/testing/db";
import { intersectRegions, normalizeRegions } from "@/lib/dataplane/regions";
import { createLab, LabExistsError } from "./create-lab";
import { labSites, labVms, replicaVmId } from "./estate";
import { labStatus } from "./lab-status";
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

    // Real differences: the replica (frozen below its failover layer = restore point 2) differs from production
    // only where production changed since (the source's dirty bitmap), and the running replica wrote data.
    const production = new QemuProvider({ siteDir: path.join(labDir, labSites.production.folder), guestCacheDir });
    const dr = new QemuProvider({ siteDir: path.join(labDir, labSites.dr.folder), guestCacheDir });
    const spec = labVms.find((vm) => vm.diskUnits.length === 2) ?? labVms[0];
    if (!spec) throw new Error("no lab VM");
    for (const disk of (await production.getVm(spec.id)).disks) {
      const dirty = await production.changedBlocks(spec.id, disk.label, { kind: "bitmap", name: "cbt" });
      expect(dirty.available).toBe(true);
      const failoverWrites = await dr.changedBlocks(replicaVmId(spec.id), disk.label, {
        kind: "layer",
        name: "failover",
      });
      expect(failoverWrites.available && failoverWrites.regions.length > 0).toBe(true);

      const source = await production.openDiskForRead(spec.id, disk.label);
      const replica = await dr.openDiskForRead(replicaVmId(spec.id), disk.label, { at: "failover" });
      const differing: { offset: number; length: number }[] = [];
      try {
        for (let offset = 0; offset < disk.sizeBytes; offset += block) {
          const [a, b] = await Promise.all([source.read(offset, block), replica.read(offset, block)]);
          if (!a.equals(b)) differing.push({ offset, length: block });
        }
      } finally {
        await source.close();
        await replica.close();
      }
      expect(differing.length).toBeGreaterThan(0);
      const explained = intersectRegions(normalizeRegions(differing), dirty.available ? dirty.regions : []);
      expect(normalizeRegions(explained)).toEqual(normalizeRegions(differing));
    }

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
