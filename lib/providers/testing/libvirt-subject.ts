// The libvirt provider as a subject of the contract suite: domains on the test daemon (LIBVIRT_URI) with their
// disks in throwaway folders (the cleanup removes every domain whose disks live there), the tiny guest booted
// directly from its kernel and initramfs.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ensureGuestImage } from "@/lib/guest/build-guest";
import { LIBVIRT_URI } from "@/lib/testing/libvirt";
import { LibvirtHost } from "../libvirt/host";
import { LibvirtProvider } from "../libvirt/provider";
import { removeDomainsStoredIn } from "../libvirt/testing/domains";
import type { Provider } from "../types";
import type { SubjectFactory } from "./contract-subject";

export interface LibvirtSpawnArgs {
  uri: string;
  storageDir: string;
}

/** The spawnSpec export of the libvirt subject (run in the child). */
export function libvirtProviderFromSpec(args: LibvirtSpawnArgs): LibvirtProvider {
  return new LibvirtProvider({ uri: args.uri, storageDir: args.storageDir });
}

const guestCacheDir = () => process.env.FAILBACK_GUEST_CACHE ?? path.join(os.tmpdir(), "failback-guest-cache");

export const libvirtSubject: SubjectFactory = async () => {
  const storageDir = fs.mkdtempSync(path.join(os.tmpdir(), "fbct-lv-"));
  const otherStorage = fs.mkdtempSync(path.join(os.tmpdir(), "fbct-lv-other-"));
  const args: LibvirtSpawnArgs = { uri: LIBVIRT_URI, storageDir };
  const provider = libvirtProviderFromSpec(args);
  const others = new Map<string, Provider>();
  return {
    name: "libvirt",
    provider,
    createVm: async (name, spec) =>
      provider.createVm({
        name,
        guestAgent: spec.guestAgent,
        cpus: spec.cpus,
        memoryMib: spec.memoryMib,
        disks: spec.disks,
        guest: spec.guest === "tiny" ? await ensureGuestImage(guestCacheDir()) : undefined,
      }),
    writeThroughRunningVm: (vmId, disk, offset, length, pattern) =>
      provider.writePatternThroughRunningVm(vmId, disk, offset, length, pattern),
    openTopForWrite: (vmId, disk) => provider.openTopForWrite(vmId, disk),
    otherStorage,
    providerAt: (storage: string) => {
      let other = others.get(storage);
      if (!other) {
        other = libvirtProviderFromSpec({ uri: LIBVIRT_URI, storageDir: storage });
        others.set(storage, other);
      }
      return other;
    },
    spawnSpec: { module: fileURLToPath(import.meta.url), export: "libvirtProviderFromSpec", args },
    cleanup: async () => {
      await removeDomainsStoredIn(new LibvirtHost(LIBVIRT_URI), [storageDir, otherStorage]);
      for (const dir of [storageDir, otherStorage]) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
};
