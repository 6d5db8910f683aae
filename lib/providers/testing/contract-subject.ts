// What the provider contract suite (lib/providers/contract.test.ts) needs of a provider beyond the Provider
// interface: making test VMs, writing into them as their guest would, and a description from which a child
// process builds the same provider (the kill -9 sweep). One subject per provider; the qemu one is here.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { stopProcessesMentioning } from "../qemu/processes";
import { QemuProvider, vmIdFromName } from "../qemu/provider";
import type { DiskHandle, Provider, VmInfo } from "../types";

export interface ContractVmSpec {
  disks: { label: string; sizeBytes: number }[];
  guestAgent: boolean;
  /** "tiny": the project's tiny Linux guest (lib/guest), which powers off on an ACPI request; "none": no OS. */
  guest: "none" | "tiny";
  cpus?: number;
  memoryMib?: number;
}

/**
 * How a child process builds the same provider: `await (await import(module))[export](args)` returns it.
 * `module` is an absolute path; `args` must survive JSON.
 */
export interface SpawnSpec {
  module: string;
  export: string;
  args: unknown;
}

export interface ContractSubject {
  /** "qemu" | "libvirt" */
  name: string;
  provider: Provider;
  /** A new VM (no OS unless guest "tiny") with empty sparse qcow2 disks; returns its VmInfo (use info.id afterwards). */
  createVm(name: string, spec: ContractVmSpec): Promise<VmInfo>;
  /** Writes `pattern` bytes through the running VM's own block backend (as the guest would), flushed. */
  writeThroughRunningVm(vmId: string, disk: string, offset: number, length: number, pattern: number): Promise<void>;
  /** A writable handle on the top layer of a powered-off VM's disk (to fill disks). */
  openTopForWrite(vmId: string, disk: string): Promise<DiskHandle>;
  /** Another host's storage folder: where ensureVmLike may put a new VM's disks (VmOverrides.storage). */
  otherStorage: string;
  /**
   * The provider of the host whose storage folder `storage` is: the engine reaches a VM made with
   * `ensureVmLike(…, { storage })` through that host's provider (qemu: a QemuProvider on that site folder;
   * libvirt: a LibvirtProvider with that storageDir on the same daemon). The same object for the same folder.
   */
  providerAt(storage: string): Provider;
  /** For run-operation.ts: builds this subject's provider in another process. */
  spawnSpec: SpawnSpec;
  cleanup(): Promise<void>;
}

export type SubjectFactory = () => Promise<ContractSubject>;

// ── qemu ─────────────────────────────────────────────────────────────────────────────────────────

export interface QemuSpawnArgs {
  siteDir: string;
  guestCacheDir: string;
}

/** The spawnSpec export of the qemu subject (run in the child). */
export function qemuProviderFromSpec(args: QemuSpawnArgs): QemuProvider {
  return new QemuProvider({ siteDir: args.siteDir, guestCacheDir: args.guestCacheDir });
}

const guestCacheDir = () => process.env.FAILBACK_GUEST_CACHE ?? path.join(os.tmpdir(), "failback-guest-cache");

export const qemuSubject: SubjectFactory = async () => {
  // Short paths: unix sockets live in the site.
  const siteDir = fs.mkdtempSync(path.join(os.tmpdir(), "fbct-"));
  const otherStorage = fs.mkdtempSync(path.join(os.tmpdir(), "fbct-other-"));
  const args: QemuSpawnArgs = { siteDir, guestCacheDir: guestCacheDir() };
  const provider = qemuProviderFromSpec(args);
  // A qemu host's storage folder is its site folder: one provider per folder, this subject's own for its site.
  const providers = new Map<string, QemuProvider>([[path.resolve(siteDir), provider]]);
  const providerAt = (storage: string): QemuProvider => {
    const key = path.resolve(storage);
    let found = providers.get(key);
    if (!found) {
      found = qemuProviderFromSpec({ siteDir: key, guestCacheDir: args.guestCacheDir });
      providers.set(key, found);
    }
    return found;
  };
  return {
    name: "qemu",
    provider,
    createVm: (name, spec) =>
      provider.createVm(vmIdFromName(name), {
        name,
        guestAgent: spec.guestAgent,
        guest: spec.guest,
        ...(spec.cpus === undefined ? {} : { cpus: spec.cpus }),
        ...(spec.memoryMib === undefined ? {} : { memoryMib: spec.memoryMib }),
        disks: spec.disks.map((d) => ({ label: d.label, sizeBytes: d.sizeBytes })),
      }),
    writeThroughRunningVm: (vmId, disk, offset, length, pattern) =>
      provider.writePatternThroughRunningVm(vmId, disk, offset, length, pattern),
    openTopForWrite: (vmId, disk) => provider.openTopForWrite(vmId, disk),
    otherStorage,
    providerAt,
    spawnSpec: { module: fileURLToPath(import.meta.url), export: "qemuProviderFromSpec", args },
    cleanup: async () => {
      for (const dir of [siteDir, otherStorage]) await stopProcessesMentioning(dir, 0);
      for (const dir of [siteDir, otherStorage]) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
};
