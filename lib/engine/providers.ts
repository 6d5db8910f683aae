// The provider that drives a host, from the host's row. One instance per host and process: providers keep
// per-VM locks, so two instances on one site would not see each other's. Only workers drive hypervisors: a
// worker configures the providers once, at its start (configureProviders); any other process that asks for one
// gets a clear error instead of a hypervisor.
import type { Host } from "@/lib/db/schema";
import { DEFAULT_STORAGE_DIR, LibvirtProvider } from "@/lib/providers/libvirt/provider";
import { QemuProvider } from "@/lib/providers/qemu/provider";
import type { Provider } from "@/lib/providers/types";

export interface ProviderSettings {
  /** Where the qemu provider keeps the built tiny guest (kernel + initramfs) its lab VMs boot. */
  guestCacheDir: string;
  /** Where libvirt providers keep this worker's export sockets and pid files (default: the system's temp folder). */
  runDir?: string;
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
  const key = providerKey(host);
  let provider = instances.get(key);
  if (!provider) {
    provider =
      host.providerKind === "qemu"
        ? new QemuProvider({ siteDir: siteDirOf(host), guestCacheDir: providerSettings().guestCacheDir })
        : new LibvirtProvider({
            uri: libvirtUriOf(host),
            storageDir: storageOf(host),
            runDir: providerSettings().runDir,
          });
    instances.set(key, provider);
  }
  return provider;
}

function providerKey(host: Host): string {
  return host.providerKind === "qemu" ? `qemu:${siteDirOf(host)}` : `libvirt:${libvirtUriOf(host)}:${storageOf(host)}`;
}

/** Where a qemu host keeps its VMs. */
export function siteDirOf(host: Host): string {
  const siteDir = host.connection.siteDir;
  if (typeof siteDir !== "string" || !siteDir)
    throw new Error(`host ${host.name} has no siteDir in its connection settings`);
  return siteDir;
}

function libvirtUriOf(host: Host): string {
  const uri = host.connection.uri;
  if (typeof uri !== "string" || !uri)
    throw new Error(`host ${host.name} has no libvirt URI in its connection settings`);
  return uri;
}

/** Where a new VM's disks go on this host (new_location): a qemu site's folder, a libvirt host's storage folder. */
export function storageOf(host: Host): string {
  if (host.providerKind === "qemu") return siteDirOf(host);
  const storageDir = host.connection.storageDir;
  return typeof storageDir === "string" && storageDir ? storageDir : DEFAULT_STORAGE_DIR;
}
