// libvirt domains the provider benchmark makes for itself: names carry a random tag so that nothing else on the
// daemon (other people's tests, the lab) is ever touched, and the clean-up removes exactly the tagged ones.
import crypto from "node:crypto";
import { readFileSync } from "node:fs";
import { defineDomain, domainUuidByName, newDomainXml } from "@/lib/providers/libvirt/create";
import { removeDomainsNamed } from "@/lib/providers/libvirt/domains";
import type { LibvirtHost } from "@/lib/providers/libvirt/host";

/** `fbbench-<6 hex>`: unique per run, recognisable in `virsh list` if a run is killed before its clean-up. */
export function benchTag(): string {
  return `fbbench-${crypto.randomBytes(3).toString("hex")}`;
}

/**
 * A domain without OS whose disks are the given qcow2 files, as they are (no copy): the benchmark's own images
 * become libvirt's disks. Same shape as the provider's createVm (q35, TCG, 64 MiB), so only the disks differ.
 */
export async function defineDomainOnFiles(
  host: LibvirtHost,
  name: string,
  disks: ReadonlyArray<{ label: string; file: string }>,
): Promise<string> {
  await defineDomain(host, newDomainXml({ name, memoryMib: 64, cpus: 1, acpi: false, disks }));
  const uuid = await domainUuidByName(host, name);
  if (!uuid) throw new Error(`libvirt accepted domain ${name} but does not list it`);
  return uuid;
}

/** Every domain whose name starts with `tag` (this run's): destroyed and undefined. Returns their names. */
export function removeTaggedDomains(host: LibvirtHost, tag: string): Promise<string[]> {
  return removeDomainsNamed(host, `${tag}-`);
}

/**
 * CPU seconds (user + system) of a running domain's QEMU so far. Its NBD server runs inside that QEMU, which is
 * libvirtd's child, not ours, so cpu.ts does not see it. Local daemon only (libvirt's pid file); undefined if
 * it cannot be read.
 */
export function domainQemuCpuSeconds(domainName: string): number | undefined {
  try {
    const pid = readFileSync(`/run/libvirt/qemu/${domainName}.pid`, "utf8").trim();
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // After "(comm)" the state is index 0: utime and stime (fields 14 and 15 of the line) are 11 and 12.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}
