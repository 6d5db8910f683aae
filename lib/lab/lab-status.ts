import type { Db } from "@/lib/db/client";
import { listReplicas } from "@/lib/db/queries/replicas";
import { LibvirtProvider } from "@/lib/providers/libvirt/provider";
import { QemuProvider } from "@/lib/providers/qemu/provider";
import type { Provider, VmInfo } from "@/lib/providers/types";
import { labSites } from "./estate";
import { findLabDomains, labDomainPrefix, labSiteDir } from "./lab-providers";
import { readLabState, type LabProviderKind } from "./lab-state";

export interface LabVmStatus {
  site: string;
  id: string;
  name: string;
  power: string;
  disks: string[];
}

export interface LabStatus {
  state: "absent" | "creating" | "ready";
  size?: string;
  provider?: LabProviderKind;
  /** libvirt labs: the daemon and the prefix of the lab's domain names. */
  libvirt?: { uri: string; domainPrefix: string };
  vms: LabVmStatus[];
  replicas: { source: string; replica: string; state: string; restorePoints: number }[];
}

async function vmStatus(provider: Provider, site: string, vm: VmInfo): Promise<LabVmStatus> {
  const layers = await provider.listSnapshots(vm.id);
  return {
    site,
    id: vm.id,
    name: vm.name,
    power: await provider.powerState(vm.id),
    disks: vm.disks.map(
      (d) =>
        `${d.label} ${(d.sizeBytes / 1024 ** 2).toFixed(0)} MiB [${layers
          .filter((l) => l.disks.includes(d.label))
          .map((l) => l.name)
          .join(" ← ")}]`,
    ),
  };
}

export async function labStatus(db: Db, labDir: string, guestCacheDir: string): Promise<LabStatus> {
  const state = readLabState(labDir);
  const siteNames = state?.siteNames ?? { production: labSites.production.name, dr: labSites.dr.name };
  const vms: LabVmStatus[] = [];
  if (state?.provider === "libvirt" && state.libvirt) {
    const { uri, tag } = state.libvirt;
    const provider = new LibvirtProvider({ uri });
    // Production's domains first, then the DR site's, then any other.
    const order = { production: 0, dr: 1, elsewhere: 2 };
    const domains = (await findLabDomains(labDir, uri, tag)).sort((a, b) => order[a.site] - order[b.site]);
    for (const domain of domains) {
      const site = domain.site === "elsewhere" ? "elsewhere" : siteNames[domain.site];
      // A domain the provider cannot read (a disk image gone, a disk it cannot handle) is shown with the reason.
      const unreadable = "error" in domain.vm ? domain.vm.error : domain.vm.config.unsupported;
      if (typeof unreadable === "string") {
        const power = await provider.powerState(domain.id).catch(() => "unknown");
        vms.push({ site, id: domain.id, name: domain.name, power, disks: [`unreadable: ${unreadable}`] });
      } else if (!("error" in domain.vm)) vms.push(await vmStatus(provider, site, domain.vm));
    }
  } else {
    for (const site of ["production", "dr"] as const) {
      const provider = new QemuProvider({ siteDir: labSiteDir(labDir, site), guestCacheDir });
      for (const vm of await provider.listVms()) vms.push(await vmStatus(provider, siteNames[site], vm));
    }
  }
  const labNames = new Set<string>([siteNames.production, siteNames.dr]);
  const replicas = (await listReplicas(db))
    .filter((r) => labNames.has(r.sourceSiteName))
    .map((r) => ({ source: r.sourceVmName, replica: r.replicaVmName, state: r.state, restorePoints: r.restorePoints }));
  return {
    state: state?.state ?? "absent",
    size: state?.size,
    provider: state ? (state.provider ?? "qemu") : undefined,
    ...(state?.libvirt
      ? { libvirt: { uri: state.libvirt.uri, domainPrefix: labDomainPrefix(state.libvirt.tag) } }
      : {}),
    vms,
    replicas,
  };
}

export function formatLabStatus(status: LabStatus): string {
  if (status.state === "absent") return "No lab. Create one with: npm run lab -- create";
  const where = status.libvirt
    ? `libvirt domains ${status.libvirt.domainPrefix}* on ${status.libvirt.uri}`
    : (status.provider ?? "qemu");
  const lines = [`Lab: ${status.state} (${status.size}, ${where})`, ""];
  // A libvirt VM's id is its UUID: the domain name says more.
  const label = (vm: LabVmStatus) => (status.libvirt ? vm.name : vm.id);
  const width = Math.max(18, ...status.vms.map((vm) => label(vm).length + 1));
  for (const vm of status.vms) {
    lines.push(`${vm.site.padEnd(18)} ${label(vm).padEnd(width)} ${vm.power.padEnd(8)} ${vm.disks.join("; ")}`);
  }
  lines.push("", "Replicas:");
  const sourceWidth = Math.max(12, ...status.replicas.map((r) => r.source.length));
  const replicaWidth = Math.max(22, ...status.replicas.map((r) => r.replica.length));
  for (const r of status.replicas)
    lines.push(
      `  ${r.source.padEnd(sourceWidth)} → ${r.replica.padEnd(replicaWidth)} ${r.state.padEnd(16)} ${r.restorePoints} restore points`,
    );
  return lines.join("\n");
}
