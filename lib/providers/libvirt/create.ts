// New domains: fresh ones with empty disks (the lab and tests), and "like another" (the new_location failback
// target). Idempotent by name: a domain of that name is returned as it is. Disk files are made as `.tmp` and
// renamed, the definition comes last, so a crash leaves either nothing usable (made again) or a whole domain.
import path from "node:path";
import { ProviderError } from "../errors";
import type { VmOverrides } from "../types";
import { cloneDefinition, xmlEscape } from "./domain-xml";
import { dumpXml } from "./domains";
import type { LibvirtHost } from "./host";
import { tmpFile } from "./layer-names";

export interface NewDomainConfig {
  name: string;
  cpus?: number;
  memoryMib?: number;
  /** The guest answers ACPI shutdown requests (the tiny guest does; a VM without OS never does). */
  guestAgent: boolean;
  disks: { label: string; sizeBytes: number }[];
  /** Direct kernel boot of the lab's tiny guest; none: no OS at all. */
  guest?: { kernel: string; initrd: string };
}

/** A VM without OS needs no more; the tiny guest unpacks its initramfs in RAM. */
const NO_OS_MEMORY_MIB = 64;
const TINY_GUEST_MIN_MEMORY_MIB = 256;
const namePattern = /^[A-Za-z0-9][A-Za-z0-9 ._()-]{0,62}$/;

export function checkDomainName(name: string): void {
  if (!namePattern.test(name))
    throw new ProviderError(
      "invalid",
      `invalid VM name ${JSON.stringify(name)}: letters, digits, spaces and . _ ( ) - only, up to 63 characters`,
    );
}

/** A file name from a domain name, the same every time. */
export const fileStem = (name: string) =>
  name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");

/** The UUID of the domain named `name`, or undefined. */
export async function domainUuidByName(host: LibvirtHost, name: string): Promise<string | undefined> {
  try {
    return (await host.virsh(["domuuid", name])).trim() || undefined;
  } catch (err) {
    if (err instanceof ProviderError && err.kind === "not_found") return undefined;
    throw err;
  }
}

async function makeEmptyDisk(host: LibvirtHost, file: string, sizeBytes: number): Promise<void> {
  await host.run("mkdir", ["-p", path.dirname(file)]);
  await host.qemuImg(["create", "-q", "-f", "qcow2", tmpFile(file), String(sizeBytes)]);
  await host.run("mv", ["-f", tmpFile(file), file]);
}

async function define(host: LibvirtHost, xml: string): Promise<void> {
  // virsh reads the definition from a file: hand it over on the host itself (it may be across SSH).
  const file = `/tmp/failback-define-${process.pid}-${Date.now()}.xml`;
  await host.run("sh", ["-c", `cat > ${file}`], { input: xml });
  try {
    await host.virsh(["define", file]);
  } finally {
    await host.run("rm", ["-f", file]);
  }
}

export { define as defineDomain };

/** A definition for a new domain (q35, TCG) whose disks are existing qcow2 files. */
export function newDomainXml(domain: {
  name: string;
  memoryMib: number;
  cpus: number;
  /** The guest answers ACPI shutdown requests. */
  acpi: boolean;
  disks: readonly { label: string; file: string }[];
  guest?: { kernel: string; initrd: string };
}): string {
  const disks = domain.disks.map(
    (d) =>
      `<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${xmlEscape(d.file)}'/>` +
      `<target dev='${xmlEscape(d.label)}' bus='virtio'/></disk>`,
  );
  const boot = domain.guest
    ? `<kernel>${xmlEscape(domain.guest.kernel)}</kernel><initrd>${xmlEscape(domain.guest.initrd)}</initrd>` +
      `<cmdline>console=ttyS0 quiet panic=-1</cmdline>`
    : "";
  return `<domain type='qemu'>
  <name>${xmlEscape(domain.name)}</name>
  <memory unit='MiB'>${domain.memoryMib}</memory>
  <vcpu>${domain.cpus}</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type>${boot}</os>
  ${domain.acpi ? "<features><acpi/></features>" : ""}
  <on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot><on_crash>destroy</on_crash>
  <devices>
    ${disks.join("\n    ")}
    <serial type='pty'><target port='0'/></serial>
  </devices>
</domain>`;
}

export async function createDomain(host: LibvirtHost, storageDir: string, config: NewDomainConfig): Promise<string> {
  checkDomainName(config.name);
  const existing = await domainUuidByName(host, config.name);
  if (existing) return existing;
  const memory = config.guest
    ? Math.max(config.memoryMib ?? 0, TINY_GUEST_MIN_MEMORY_MIB)
    : (config.memoryMib ?? NO_OS_MEMORY_MIB);
  const disks: { label: string; file: string }[] = [];
  for (const disk of config.disks) {
    const file = path.join(storageDir, `${fileStem(config.name)}.${disk.label}.qcow2`);
    await makeEmptyDisk(host, file, disk.sizeBytes);
    disks.push({ label: disk.label, file });
  }
  const xml = newDomainXml({
    name: config.name,
    memoryMib: memory,
    cpus: config.cpus ?? 1,
    acpi: config.guestAgent,
    disks,
    guest: config.guest,
  });
  await define(host, xml);
  const uuid = await domainUuidByName(host, config.name);
  if (!uuid) throw new ProviderError("hypervisor", `libvirt accepted domain ${config.name} but does not list it`);
  return uuid;
}

/**
 * A domain like `sourceVmId` named `name`: its definition with a new UUID and MACs (libvirt makes them), the
 * overrides applied, and each disk an empty qcow2 of the same size in `overrides.storage` (default: beside the
 * source's disks).
 */
export async function ensureDomainLike(
  host: LibvirtHost,
  sourceVmId: string,
  name: string,
  overrides: VmOverrides,
  sizes: Record<string, { sizeBytes: number; folder: string }>,
): Promise<string> {
  checkDomainName(name);
  const existing = await domainUuidByName(host, name);
  if (existing) return existing;
  const source = await dumpXml(host, sourceVmId, "inactive");
  const storage = overrides.storage === undefined ? undefined : await storageFolder(host, overrides.storage);
  const diskFiles: Record<string, string> = {};
  for (const [label, { sizeBytes, folder }] of Object.entries(sizes)) {
    const file = path.join(storage ?? folder, `${fileStem(name)}.${label}.qcow2`);
    await makeEmptyDisk(host, file, sizeBytes);
    diskFiles[label] = file;
  }
  await define(host, cloneDefinition(source, { ...overrides, name, diskFiles }));
  const uuid = await domainUuidByName(host, name);
  if (!uuid) throw new ProviderError("hypervisor", `libvirt accepted domain ${name} but does not list it`);
  return uuid;
}

/**
 * Where new disks go: a folder (an absolute path) as it is, or a libvirt storage pool by name — a pool backed by a
 * folder (dir, fs, netfs) gives its target path; others (RBD, iSCSI, LVM) cannot hold qcow2 overlays.
 */
export async function storageFolder(host: LibvirtHost, storage: string): Promise<string> {
  if (path.isAbsolute(storage)) return storage;
  const xml = await host.virsh(["pool-dumpxml", storage]).catch((err: unknown) => {
    if (err instanceof ProviderError && /Storage pool not found|no storage pool/i.test(err.toolMessage ?? ""))
      throw new ProviderError("not_found", `storage pool ${storage} not found on ${host.label}`, err.toolMessage);
    throw err;
  });
  const type = /<pool type=['"]([^'"]+)['"]/.exec(xml)?.[1] ?? "";
  const target = /<target>\s*<path>([^<]+)<\/path>/.exec(xml)?.[1];
  if (!["dir", "fs", "netfs"].includes(type) || !target)
    throw new ProviderError(
      "unsupported",
      `storage pool ${storage} is a ${type || "unknown"} pool: new disks need a folder-backed pool (dir, fs or netfs) or a folder`,
    );
  return target;
}
