// The two providers as the latency benchmark drives them: the same VM shape made through each one's own
// createVm, in throwaway folders, with a clean-up that leaves nothing running or defined behind — whatever
// failed before it.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { LibvirtHost } from "@/lib/providers/libvirt/host";
import { LibvirtProvider } from "@/lib/providers/libvirt/provider";
import { stopProcessesMentioning } from "@/lib/providers/qemu/processes";
import { QemuProvider, vmIdFromName } from "@/lib/providers/qemu/provider";
import type { DiskHandle, Provider, VmInfo } from "@/lib/providers/types";
import { benchTag, removeTaggedDomains } from "./libvirt-domains";

const MiB = 1024 * 1024;

/** What both providers get: no OS, two 64 MiB qcow2 disks, 1 CPU, 64 MiB of RAM. */
export const VM_SHAPE = {
  guest: "none",
  cpus: 1,
  memoryMib: 64,
  disks: [
    { label: "vda", sizeBytes: 64 * MiB },
    { label: "vdb", sizeBytes: 64 * MiB },
  ],
} as const;

export interface LatencySubject {
  /** "qemu" | "libvirt": the JSON key. */
  key: "qemu" | "libvirt";
  label: string;
  provider: Provider;
  /** A new VM of VM_SHAPE named after `name` (unique within the run); guestAgent as given. */
  createVm(name: string, guestAgent: boolean): Promise<VmInfo>;
  /** Writes into the top layer of a stopped VM's disk (to give commits and CBT something to carry). */
  openTopForWrite(vmId: string, disk: string): Promise<DiskHandle>;
  /** A write made by the running VM itself, as its guest would make it. */
  writeThroughRunningVm(vmId: string, disk: string, offset: number, length: number, pattern: number): Promise<void>;
  /** Stops and removes everything the subject made. Safe to call after any failure, and twice. */
  cleanup(): Promise<void>;
}

const disks = () => VM_SHAPE.disks.map((d) => ({ label: d.label, sizeBytes: d.sizeBytes }));

export async function qemuSubject(tag: string): Promise<LatencySubject> {
  // A short folder in the temp dir: the VMs' QMP and NBD sockets live in it (108-byte limit).
  const siteDir = await mkdtemp(path.join(os.tmpdir(), "bpq-"));
  const provider = new QemuProvider({ siteDir, guestCacheDir: path.join(siteDir, "guest-cache") });
  return {
    key: "qemu",
    label: "qemu provider",
    provider,
    createVm: (name, guestAgent) =>
      provider.createVm(vmIdFromName(`${tag}-${name}`), {
        name: `${tag}-${name}`,
        guestAgent,
        guest: VM_SHAPE.guest,
        cpus: VM_SHAPE.cpus,
        memoryMib: VM_SHAPE.memoryMib,
        disks: disks(),
      }),
    openTopForWrite: (vmId, disk) => provider.openTopForWrite(vmId, disk),
    writeThroughRunningVm: (vmId, disk, offset, length, pattern) =>
      provider.writePatternThroughRunningVm(vmId, disk, offset, length, pattern),
    cleanup: async () => {
      // The VMs are daemonized QEMUs: they outlive us unless stopped. Their command lines name the site.
      await stopProcessesMentioning(siteDir);
      await rm(siteDir, { recursive: true, force: true });
    },
  };
}

export async function libvirtSubject(tag: string, uri: string): Promise<LatencySubject> {
  const storageDir = await mkdtemp(path.join(os.tmpdir(), "bpl-"));
  // Export sockets go to <runDir>/<uuid>/: keep the prefix short.
  const runDir = await mkdtemp(path.join(os.tmpdir(), "bpr-"));
  const provider = new LibvirtProvider({ uri, storageDir, runDir });
  const host = new LibvirtHost(uri);
  return {
    key: "libvirt",
    label: "libvirt provider",
    provider,
    createVm: (name, guestAgent) =>
      provider.createVm({
        name: `${tag}-${name}`,
        guestAgent,
        cpus: VM_SHAPE.cpus,
        memoryMib: VM_SHAPE.memoryMib,
        disks: disks(),
      }),
    openTopForWrite: (vmId, disk) => provider.openTopForWrite(vmId, disk),
    writeThroughRunningVm: (vmId, disk, offset, length, pattern) =>
      provider.writePatternThroughRunningVm(vmId, disk, offset, length, pattern),
    cleanup: async () => {
      try {
        await removeTaggedDomains(host, tag);
      } finally {
        // Storage daemons of exports left open by a failed step (their command lines name the run folder).
        await stopProcessesMentioning(runDir);
        await stopProcessesMentioning(storageDir);
        await rm(storageDir, { recursive: true, force: true });
        await rm(runDir, { recursive: true, force: true });
        host.close();
      }
    },
  };
}

/** Both subjects with one tag; if the second cannot be made, the first is cleaned up before the error goes on. */
export async function makeSubjects(uri: string): Promise<{ tag: string; subjects: LatencySubject[] }> {
  const tag = benchTag();
  const qemu = await qemuSubject(tag);
  try {
    return { tag, subjects: [qemu, await libvirtSubject(tag, uri)] };
  } catch (err) {
    await qemu.cleanup();
    throw err;
  }
}
