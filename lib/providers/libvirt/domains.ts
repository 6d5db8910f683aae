// A domain as the provider sees it: found by UUID, described from its definition (live while it runs), its
// disks' chains read from the qcow2 headers with qemu-img on the host.
import path from "node:path";
import { ProviderError } from "../errors";
import type { PowerState } from "../types";
import { describeDomain, type DomainDescription, type DomainDisk, unsupportedDiskReason } from "./domain-xml";
import type { LibvirtHost } from "./host";

export const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function checkVmId(vmId: string): void {
  if (!uuidPattern.test(vmId))
    throw new ProviderError("invalid", `a libvirt VM is named by its domain UUID, not ${JSON.stringify(vmId)}`);
}

/** The definition libvirt would start next (inactive), or the running one. */
export async function dumpXml(host: LibvirtHost, vmId: string, which: "live" | "inactive"): Promise<string> {
  checkVmId(vmId);
  const args = which === "inactive" ? ["--inactive", "--security-info"] : ["--security-info"];
  return host.virsh(["dumpxml", vmId, ...args]);
}

/** What libvirt runs now, or would start next when the domain is off — one call, `active` telling which. */
export async function describe(host: LibvirtHost, vmId: string) {
  return describeDomain(await dumpXml(host, vmId, "live"));
}

export async function powerState(host: LibvirtHost, vmId: string): Promise<PowerState> {
  checkVmId(vmId);
  const state = (await host.virsh(["domstate", vmId])).trim();
  if (state === "running" || state === "in shutdown" || state === "blocked") return "running";
  if (state === "paused" || state === "pmsuspended") return "paused";
  return "off"; // shut off, crashed, dying
}

/** The disks the provider can work with; anything else is refused with the reason and what to do. */
export function usableDisks(domain: DomainDescription): (DomainDisk & { file: string })[] {
  return domain.disks.map((disk) => {
    const reason = unsupportedDiskReason(disk);
    if (reason) throw new ProviderError("unsupported", `VM ${domain.name}: ${reason}`);
    return disk as DomainDisk & { file: string };
  });
}

export function diskOf(domain: DomainDescription, label: string): DomainDisk & { file: string } {
  const disk = usableDisks(domain).find((d) => d.label === label);
  if (!disk) throw new ProviderError("not_found", `disk ${label} of VM ${domain.name} not found`);
  return disk;
}

interface ImageInfo {
  filename: string;
  format: string;
  "virtual-size": number;
  "full-backing-filename"?: string;
  "format-specific"?: { data?: { bitmaps?: { name: string; granularity: number; flags: string[] }[] } };
}

export interface Layer {
  file: string;
  sizeBytes: number;
  bitmaps: { name: string; granularity: number; flags: string[] }[];
}

/** A disk's layers, bottom → top, as the qcow2 headers chain them (-U: the domain may hold them open). */
export async function diskChain(host: LibvirtHost, top: string): Promise<Layer[]> {
  const { stdout } = await host.qemuImg(["info", "--backing-chain", "-U", "--output=json", top]);
  const parsed = JSON.parse(stdout) as ImageInfo | ImageInfo[];
  const images = Array.isArray(parsed) ? parsed : [parsed];
  return images.reverse().map((image) => ({
    file: path.resolve(path.dirname(top), image.filename),
    sizeBytes: image["virtual-size"],
    bitmaps: image["format-specific"]?.data?.bitmaps ?? [],
  }));
}

/** Destroys and undefines a domain with its checkpoint records (its disk files stay); gone already is fine. */
export async function removeDomain(host: LibvirtHost, nameOrUuid: string): Promise<void> {
  await host.virsh(["destroy", nameOrUuid]).catch(() => {});
  await host.virsh(["undefine", nameOrUuid, "--checkpoints-metadata"]).catch(() => {});
}

/** Removes every domain whose name starts with `prefix`; returns their names (tests and benchmarks clean up). */
export async function removeDomainsNamed(host: LibvirtHost, prefix: string): Promise<string[]> {
  const names = (await host.virsh(["list", "--all", "--name"]))
    .split("\n")
    .map((n) => n.trim())
    .filter((n) => n.startsWith(prefix));
  for (const name of names) await removeDomain(host, name);
  return names;
}
