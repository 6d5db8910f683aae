// The host's domains as the engine sees VMs: name, CPUs, memory, whether the guest answers shutdown requests,
// and each disk's label, size and top image. A domain whose disks the provider cannot handle is still listed,
// with the reason in `config.unsupported`, so an admin sees why it cannot be failed back.
import { ProviderError } from "../errors";
import type { VmInfo } from "../types";
import { describeDomain, unsupportedDiskReason } from "./domain-xml";
import { diskChain, dumpXml } from "./domains";
import type { LibvirtHost } from "./host";

export async function vmInfo(host: LibvirtHost, vmId: string): Promise<VmInfo> {
  const domain = describeDomain(await dumpXml(host, vmId, "live"));
  const reasons = domain.disks.map(unsupportedDiskReason).filter((r): r is string => r !== undefined);
  const disks: VmInfo["disks"] = [];
  const chains: Record<string, string[]> = {};
  for (const disk of domain.disks) {
    if (unsupportedDiskReason(disk) || !disk.file) {
      disks.push({ label: disk.label, sizeBytes: 0, locator: disk.sourceDescription });
      continue;
    }
    // A missing or unreadable image is the VM's problem to show, not a sign that the domain is gone.
    const chain = await diskChain(host, disk.file).catch((err: unknown) => {
      if (!(err instanceof ProviderError)) throw err;
      reasons.push(`disk ${disk.label}: ${err.message}`);
      return [];
    });
    chains[disk.label] = chain.map((l) => l.file);
    disks.push({ label: disk.label, sizeBytes: chain.at(-1)?.sizeBytes ?? 0, locator: disk.file });
  }
  return {
    id: domain.uuid,
    name: domain.name,
    cpus: domain.cpus,
    memoryMib: domain.memoryMib,
    guestAgent: domain.hasAgentChannel || domain.acpi,
    disks,
    config: {
      uri: host.uri,
      chains,
      interfaces: domain.interfaces,
      ...(reasons.length > 0 ? { unsupported: reasons.join("; ") } : {}),
    },
  };
}

export async function inventory(host: LibvirtHost): Promise<VmInfo[]> {
  const out = await host.virsh(["list", "--all", "--uuid"]);
  const vms: VmInfo[] = [];
  for (const uuid of out
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)) {
    try {
      vms.push(await vmInfo(host, uuid));
    } catch (err) {
      // Undefined between the list and the look: it is gone, not an error of the inventory.
      if (err instanceof ProviderError && err.kind === "not_found") continue;
      throw err;
    }
  }
  return vms.sort((a, b) => a.name.localeCompare(b.name));
}
