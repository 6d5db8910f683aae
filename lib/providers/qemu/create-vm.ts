// Creating VMs in a qemu site: fresh ones with empty sparse disks (the lab), and "like another VM" (the
// new_location failback target). Idempotent: an existing VM (its vm.json exists) is returned unchanged.
import fs from "node:fs";
import path from "node:path";
import type { z } from "zod";
import { ProviderError } from "../errors";
import type { VmInfo, VmOverrides } from "../types";
import { qemuImg } from "../chain-export/exec";
import { type Site, type VmConfig, vmConfigSchema } from "./site";
import { withVmLock } from "./vm-lock";

type VmConfigInput = z.input<typeof vmConfigSchema>;
type DiskInput = VmConfigInput["disks"][number];

/** vm.json input where a disk's layers may be left out: they default to a single "base" layer. */
export type NewVmConfig = Omit<VmConfigInput, "disks"> & {
  disks: (Omit<DiskInput, "layers"> & { layers?: DiskInput["layers"] })[];
};

/** The engine's view of a VM (provider-neutral VmInfo). */
export function vmInfo(site: Site, vmId: string): VmInfo {
  const config = site.readConfig(vmId);
  return {
    id: vmId,
    name: config.name,
    cpus: config.cpus,
    memoryMib: config.memoryMib,
    guestAgent: config.guestAgent,
    disks: config.disks.map((d) => ({ label: d.label, sizeBytes: d.sizeBytes, locator: site.diskDir(vmId, d.label) })),
    config: {
      guest: config.guest,
      network: config.network,
      retired: config.retired,
      layers: Object.fromEntries(config.disks.map((d) => [d.label, d.layers])),
    },
  };
}

/**
 * Creates VM `vmId` with empty sparse disks (each layer an empty qcow2; upper layers back onto the one below).
 * The disk files are made first and vm.json last, so a crash leaves either no VM (files are overwritten by the
 * re-run) or a complete one. Exists already → returned unchanged.
 */
export async function createVm(site: Site, vmId: string, input: NewVmConfig): Promise<VmInfo> {
  return withVmLock(site, vmId, async () => {
    if (fs.existsSync(site.configFile(vmId))) return vmInfo(site, vmId);
    const parsed = vmConfigSchema.safeParse({
      ...input,
      disks: input.disks.map((d) => ({ ...d, layers: d.layers ?? ["base"] })),
    });
    if (!parsed.success)
      throw new ProviderError("invalid", `invalid configuration for VM ${vmId}`, parsed.error.message);
    const config: VmConfig = parsed.data;
    if (new Set(config.disks.map((d) => d.label)).size !== config.disks.length)
      throw new ProviderError("invalid", `VM ${vmId}: duplicate disk labels`);
    for (const disk of config.disks) {
      fs.mkdirSync(site.diskDir(vmId, disk.label), { recursive: true });
      for (const [i, layer] of disk.layers.entries()) {
        const file = site.layerFile(vmId, disk.label, layer);
        const below = i > 0 ? disk.layers[i - 1] : undefined;
        const backing = below === undefined ? [] : ["-u", "-b", `${below}.qcow2`, "-F", "qcow2"];
        fs.rmSync(`${file}.tmp`, { force: true });
        await qemuImg(["create", "-q", "-f", "qcow2", ...backing, `${file}.tmp`, String(disk.sizeBytes)]);
        fs.renameSync(`${file}.tmp`, file);
      }
      const fd = fs.openSync(path.dirname(site.layerFile(vmId, disk.label, disk.layers[0] as string)), "r");
      fs.fsyncSync(fd);
      fs.closeSync(fd);
    }
    site.writeConfig(vmId, config);
    return vmInfo(site, vmId);
  });
}

/**
 * An empty VM `newVmId` in `targetSite` (default: the source's site) with the source's configuration (cpus,
 * memory, network, guest settings) plus overrides, and empty disks of the same labels and sizes (one "base"
 * layer each). Its name is `overrides.name`, else `newVmId`. `overrides.storage` is not used here: a qemu VM's
 * disks always live in its site folder, so the caller picks the storage by picking `targetSite`.
 * Exists already → returned unchanged.
 */
export async function ensureVmLike(
  site: Site,
  sourceVmId: string,
  newVmId: string,
  overrides: VmOverrides & { name?: string } = {},
  targetSite: Site = site,
): Promise<VmInfo> {
  if (fs.existsSync(targetSite.configFile(newVmId))) return vmInfo(targetSite, newVmId);
  const source = site.readConfig(sourceVmId);
  return createVm(targetSite, newVmId, {
    name: overrides.name ?? newVmId,
    cpus: overrides.cpus ?? source.cpus,
    memoryMib: overrides.memoryMib ?? source.memoryMib,
    guestAgent: source.guestAgent,
    guest: source.guest,
    network: overrides.network ?? source.network,
    disks: source.disks.map((d) => ({ label: d.label, sizeBytes: d.sizeBytes })),
  });
}
