// The provider that drives a host, from the host's row. One instance per host and process: providers keep
// per-VM locks, so two instances on one site would not see each other's.
import type { Host } from "@/lib/db/schema";
import { QemuProvider } from "@/lib/providers/qemu/provider";
import type { Provider } from "@/lib/providers/types";

const instances = new Map<string, Provider>();

export function providerForHost(host: Host, guestCacheDir: string): Provider {
  if (host.providerKind !== "qemu")
    throw new Error(`host ${host.name}: the ${host.providerKind} provider is not available in this build`);
  const siteDir = host.connection.siteDir;
  if (typeof siteDir !== "string" || !siteDir)
    throw new Error(`host ${host.name} has no siteDir in its connection settings`);
  const key = `qemu:${siteDir}`;
  let provider = instances.get(key);
  if (!provider) {
    provider = new QemuProvider({ siteDir, guestCacheDir });
    instances.set(key, provider);
  }
  return provider;
}

/** Where a qemu host keeps its VMs (new_location: the new VM's folder). */
export function siteDirOf(host: Host): string {
  const siteDir = host.connection.siteDir;
  if (typeof siteDir !== "string" || !siteDir)
    throw new Error(`host ${host.name} has no siteDir in its connection settings`);
  return siteDir;
}
