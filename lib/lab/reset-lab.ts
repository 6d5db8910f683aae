import fs from "node:fs";
import { inArray } from "drizzle-orm";
import type { Db } from "@/lib/db/client";
import { disks, hosts, replicas, restorePoints, sites, vms } from "@/lib/db/schema";
import { labSites } from "./estate";
import { removeLabDomains } from "./lab-providers";
import { readLabState } from "./lab-state";
import { stopProcessesMentioning } from "@/lib/providers/qemu/processes";

/**
 * Stops every VM and daemon the lab started and removes its files: a libvirt lab's domains are destroyed and
 * undefined first (found by the lab's domain-name prefix and by disks in the lab folder), then whatever process
 * still names the lab folder is stopped, then the folder goes.
 */
export async function removeLabMachines(labDir: string, log: (line: string) => void = () => {}): Promise<void> {
  const state = readLabState(labDir);
  if (state?.provider === "libvirt" && state.libvirt) {
    const { uri, tag } = state.libvirt;
    const removed = await removeLabDomains(labDir, uri, tag);
    if (removed.length)
      log(
        `Removed ${removed.length} libvirt domain${removed.length === 1 ? "" : "s"} from ${uri}: ${removed.join(", ")}.`,
      );
  }
  const stopped = await stopProcessesMentioning(labDir);
  if (stopped) log(`Stopped ${stopped} lab process${stopped === 1 ? "" : "es"}.`);
  fs.rmSync(labDir, { recursive: true, force: true });
}

/** Stops every VM and daemon the lab started, removes its files, and forgets its estate in the database. */
export async function resetLab(db: Db, labDir: string, log: (line: string) => void = () => {}): Promise<void> {
  const siteNames = readLabState(labDir)?.siteNames ?? { production: labSites.production.name, dr: labSites.dr.name };
  await removeLabMachines(labDir, log);
  await db.transaction(async (tx) => {
    const siteRows = await tx
      .select({ id: sites.id })
      .from(sites)
      .where(inArray(sites.name, [siteNames.production, siteNames.dr]));
    const siteIds = siteRows.map((s) => s.id);
    if (!siteIds.length) return;
    const hostIds = (await tx.select({ id: hosts.id }).from(hosts).where(inArray(hosts.siteId, siteIds))).map(
      (h) => h.id,
    );
    const vmIds = hostIds.length
      ? (await tx.select({ id: vms.id }).from(vms).where(inArray(vms.hostId, hostIds))).map((v) => v.id)
      : [];
    if (vmIds.length) {
      const replicaIds = (
        await tx.select({ id: replicas.id }).from(replicas).where(inArray(replicas.replicaVmId, vmIds))
      ).map((r) => r.id);
      if (replicaIds.length) {
        await tx.delete(restorePoints).where(inArray(restorePoints.replicaId, replicaIds));
        await tx.delete(replicas).where(inArray(replicas.id, replicaIds));
      }
      await tx.delete(disks).where(inArray(disks.vmId, vmIds));
      await tx.delete(vms).where(inArray(vms.id, vmIds));
    }
    if (hostIds.length) await tx.delete(hosts).where(inArray(hosts.id, hostIds));
    await tx.delete(sites).where(inArray(sites.id, siteIds));
  });
  log("The lab is gone: no VM, daemon or file of it is left.");
}
