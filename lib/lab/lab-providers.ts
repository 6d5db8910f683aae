// The lab's two sites behind one seam, so the same estate is built either as qemu-site folders (the default) or
// as libvirt domains. A libvirt lab puts both sites on one daemon, each with its own storage folder in the lab
// folder, and names every domain `fb-<tag>-<lab id>` (domain names are unique per daemon; labs of tests run side
// by side on the same one): reset and status find the lab's domains by that prefix.
import path from "node:path";
import { ensureGuestImage } from "@/lib/guest/build-guest";
import { ProviderError } from "@/lib/providers/errors";
import { LibvirtProvider } from "@/lib/providers/libvirt/provider";
import { QemuProvider } from "@/lib/providers/qemu/provider";
import type { DiskHandle, Provider, VmInfo } from "@/lib/providers/types";
import { labSites } from "./estate";
import type { LabProviderKind, LabState } from "./lab-state";

export interface LabVmSpec {
  /** The lab's id of the VM (qemu: its folder; libvirt: part of the domain name). */
  id: string;
  name: string;
  cpus: number;
  memoryMib: number;
  guestAgent: boolean;
  /** Boots the tiny Linux guest (lib/guest); otherwise the VM has no OS. */
  tiny: boolean;
  disks: { label: string; sizeBytes: number }[];
}

export interface LabSiteProvider {
  provider: Provider;
  /** The host row the lab records for this site. */
  host: { name: string; providerKind: LabProviderKind; connection: Record<string, unknown> };
  /** The site's description in the inventory. */
  description: string;
  /** Makes the VM (or returns it, when it exists) with empty disks. */
  createVm(spec: LabVmSpec): Promise<VmInfo>;
  /** A writable handle on the top layer of a powered-off VM's disk. */
  openTopForWrite(vmId: string, disk: string): Promise<DiskHandle>;
  /** A write made by the running VM itself, as its guest would. */
  writePatternThroughRunningVm(
    vmId: string,
    disk: string,
    offset: number,
    length: number,
    pattern: number,
  ): Promise<void>;
}

export interface LabSiteProviders {
  kind: LabProviderKind;
  production: LabSiteProvider;
  dr: LabSiteProvider;
}

/** The libvirt daemon a libvirt lab uses unless told otherwise. */
export const defaultLibvirtUri = () => process.env.FAILBACK_LIBVIRT_URI || "qemu:///system";

/** The tag of the lab `npm run lab` builds (tests use random ones). */
export const DEFAULT_LAB_TAG = "lab";

export const labDomainPrefix = (tag: string) => `fb-${tag}-`;
export const labDomainName = (tag: string, id: string) => `${labDomainPrefix(tag)}${id}`;

const tagPattern = /^[a-z0-9]{1,16}$/;

export function checkLabTag(tag: string): void {
  if (!tagPattern.test(tag))
    throw new Error(`a lab tag is 1–16 lowercase letters or digits, not ${JSON.stringify(tag)}`);
}

/** Where a site's VMs live within the lab folder. */
export const labSiteDir = (labDir: string, site: "production" | "dr") => path.join(labDir, labSites[site].folder);

/** The sites of the lab that lab.json describes (a lab.json without a provider is a qemu lab). */
export function labSiteProviders(
  labDir: string,
  state: Pick<LabState, "provider" | "libvirt">,
  guestCacheDir: string,
): LabSiteProviders {
  if ((state.provider ?? "qemu") === "qemu") {
    return {
      kind: "qemu",
      production: qemuSite(labDir, "production", guestCacheDir),
      dr: qemuSite(labDir, "dr", guestCacheDir),
    };
  }
  if (!state.libvirt) throw new Error(`the libvirt lab in ${labDir} does not say which daemon it uses (lab.json)`);
  const { uri, tag } = state.libvirt;
  return {
    kind: "libvirt",
    production: libvirtSite(labDir, "production", uri, tag, guestCacheDir),
    dr: libvirtSite(labDir, "dr", uri, tag, guestCacheDir),
  };
}

function qemuSite(labDir: string, site: "production" | "dr", guestCacheDir: string): LabSiteProvider {
  const provider = new QemuProvider({ siteDir: labSiteDir(labDir, site), guestCacheDir });
  return {
    provider,
    host: { name: labSites[site].host, providerKind: "qemu", connection: { siteDir: provider.site.dir } },
    description:
      site === "production"
        ? "The lab's production site: QEMU VMs in a folder."
        : "The lab's disaster-recovery site, where the replicas run.",
    createVm: (spec) =>
      provider.createVm(spec.id, {
        name: spec.name,
        cpus: spec.cpus,
        memoryMib: spec.memoryMib,
        guestAgent: spec.guestAgent,
        guest: spec.tiny ? "tiny" : "none",
        disks: spec.disks,
      }),
    openTopForWrite: (vmId, disk) => provider.openTopForWrite(vmId, disk),
    writePatternThroughRunningVm: (vmId, disk, offset, length, pattern) =>
      provider.writePatternThroughRunningVm(vmId, disk, offset, length, pattern),
  };
}

/**
 * A libvirt lab's provider for one site: the shared daemon and the site's storage folder. Export sockets and pid
 * files stay in the provider's default run folder (the system's temp folder): in a deeper one the provider's
 * storage daemons fail to start (see the report of the lab's libvirt work); reset still finds leftover daemons by
 * the lab folder their command lines name.
 */
export function libvirtLabProvider(labDir: string, site: "production" | "dr", uri: string): LibvirtProvider {
  return new LibvirtProvider({ uri, storageDir: labSiteDir(labDir, site) });
}

function libvirtSite(
  labDir: string,
  site: "production" | "dr",
  uri: string,
  tag: string,
  guestCacheDir: string,
): LabSiteProvider {
  checkLabTag(tag);
  const provider = libvirtLabProvider(labDir, site, uri);
  const storageDir = provider.storageDir;
  return {
    provider,
    host: {
      name: site === "production" ? "prod-libvirt-01" : "dr-libvirt-01",
      providerKind: "libvirt",
      connection: { uri, storageDir },
    },
    description:
      site === "production"
        ? `The lab's production site: libvirt domains on ${uri}, disks in ${storageDir}.`
        : `The lab's disaster-recovery site, where the replicas run: libvirt domains on ${uri}.`,
    createVm: async (spec) =>
      provider.createVm({
        name: labDomainName(tag, spec.id),
        cpus: spec.cpus,
        memoryMib: spec.memoryMib,
        guestAgent: spec.guestAgent,
        disks: spec.disks,
        ...(spec.tiny ? { guest: await ensureGuestImage(guestCacheDir) } : {}),
      }),
    openTopForWrite: (vmId, disk) => provider.openTopForWrite(vmId, disk),
    writePatternThroughRunningVm: (vmId, disk, offset, length, pattern) =>
      provider.writePatternThroughRunningVm(vmId, disk, offset, length, pattern),
  };
}

/** Fails with what to do when the libvirt daemon does not answer. */
export async function checkLibvirtAnswers(uri: string): Promise<void> {
  try {
    await new LibvirtProvider({ uri }).host.virsh(["version"], { timeoutMs: 15_000 });
  } catch (err) {
    const detail = err instanceof ProviderError ? (err.toolMessage ?? err.message) : String(err);
    throw new Error(
      `libvirtd does not answer on ${uri} (${detail}). On a test machine, \`bash scripts/libvirt-host.sh up\` starts it; ` +
        "FAILBACK_LIBVIRT_URI picks another daemon.",
    );
  }
}

const under = (file: string, dir: string) => file.startsWith(path.resolve(dir) + path.sep);

export interface LabDomain {
  id: string;
  name: string;
  /** Where its disks are: a site's storage folder of the lab, or elsewhere. */
  site: "production" | "dr" | "elsewhere";
  /** Its inventory, or why it could not be read (a disk image gone, say). */
  vm: VmInfo | { error: string };
}

/**
 * The lab's domains on its daemon: every domain named with the lab's prefix — looked up by name, so one whose
 * disks are gone is found too — and every domain whose disks lie in the lab folder (a failback's new-location VM
 * is named by its user).
 */
export async function findLabDomains(labDir: string, uri: string, tag: string): Promise<LabDomain[]> {
  const provider = new LibvirtProvider({ uri });
  const filesOf = (vm: VmInfo) => [
    ...vm.disks.map((d) => d.locator),
    ...Object.values((vm.config.chains ?? {}) as Record<string, string[]>).flat(),
  ];
  const siteOf = (vm: VmInfo): LabDomain["site"] => {
    const files = filesOf(vm);
    if (files.some((f) => under(f, labSiteDir(labDir, "dr")))) return "dr";
    if (files.some((f) => under(f, labSiteDir(labDir, "production")))) return "production";
    return "elsewhere";
  };
  const found: LabDomain[] = [];
  const names = (await provider.host.virsh(["list", "--all", "--name"]))
    .split("\n")
    .map((line) => line.trim())
    .filter((name) => name.startsWith(labDomainPrefix(tag)));
  for (const name of names) {
    let id: string;
    try {
      id = (await provider.host.virsh(["domuuid", name])).trim();
    } catch (err) {
      if (err instanceof ProviderError && err.kind === "not_found") continue; // undefined meanwhile
      throw err;
    }
    try {
      const vm = await provider.getVm(id);
      found.push({ id, name, site: siteOf(vm), vm });
    } catch (err) {
      found.push({ id, name, site: "elsewhere", vm: { error: err instanceof Error ? err.message : String(err) } });
    }
  }
  // Domains named otherwise but with disks in the lab folder. Other domains on the daemon (other labs, other
  // tests) may be half made or half gone: one that cannot be read is not the lab's business.
  const uuids = (await provider.host.virsh(["list", "--all", "--uuid"])).split("\n").map((line) => line.trim());
  for (const id of uuids.filter((uuid) => uuid && !found.some((d) => d.id === uuid))) {
    const vm = await provider.getVm(id).catch(() => undefined);
    if (vm && filesOf(vm).some((f) => under(f, labDir))) found.push({ id, name: vm.name, site: siteOf(vm), vm });
  }
  return found.sort((a, b) => a.site.localeCompare(b.site) || a.name.localeCompare(b.name));
}

/**
 * Removes the lab's domains: each destroyed when it runs, then undefined with its checkpoint records (its disk
 * files go with the lab folder). Returns the names removed.
 */
export async function removeLabDomains(labDir: string, uri: string, tag: string): Promise<string[]> {
  const provider = new LibvirtProvider({ uri });
  const removed: string[] = [];
  for (const domain of await findLabDomains(labDir, uri, tag)) {
    try {
      await provider.powerOff(domain.id);
      await provider.host.virsh(["undefine", domain.id, "--checkpoints-metadata"]);
      removed.push(domain.name);
    } catch (err) {
      // Undefined meanwhile (a test's own clean-up, say): gone is what we want.
      if (err instanceof ProviderError && err.kind === "not_found") continue;
      throw err;
    }
  }
  return removed;
}
