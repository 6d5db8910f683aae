// The provider that drives a host, from the host's row. One instance per host and process: providers keep
// per-VM locks, so two instances on one site would not see each other's. Only workers drive hypervisors: a
// worker configures the providers once, at its start (configureProviders); any other process that asks for one
// gets a clear error instead of a hypervisor.
import type { Host } from "@/lib/db/schema";
import { QemuProvider } from "@/lib/providers/qemu/provider";
import type { Provider } from "@/lib/providers/types";

export interface ProviderSettings {
  /** Where the qemu provider keeps the built tiny guest (kernel + initramfs) its lab VMs boot. */
  guestCacheDir: string;
}

const holder = globalThis as unknown as { failbackProviderSettings?: ProviderSettings };
const instances = new Map<string, Provider>();

export function configureProviders(settings: ProviderSettings): void {
  holder.failbackProviderSettings = settings;
}

function providerSettings(): ProviderSettings {
  const settings = holder.failbackProviderSettings;
  if (!settings) {
    throw new Error("this process drives no hypervisor: providers are configured only when a worker starts");
  }
  return settings;
}

export function providerForHost(host: Host): Provider {
  if (host.providerKind !== "qemu") {
    throw new Error(`host ${host.name}: the ${host.providerKind} provider is not available in this build`);
  }
  const siteDir = siteDirOf(host);
  const key = `qemu:${siteDir}`;
  let provider = instances.get(key);
  if (!provider) {
    provider = new QemuProvider({ siteDir, guestCacheDir: providerSettings().guestCacheDir });
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
