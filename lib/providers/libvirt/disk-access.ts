// Block access to a libvirt domain's disks. The layers a read needs are frozen (a stopped domain's chain, or
// the layers below a snapshot of a running one, which QEMU holds read-only), so they are exported as image files
// by a qemu-storage-daemon — on this machine directly, on a remote host over SSH with its socket forwarded
// (remote-export.ts). Writes go into a stopped domain's top snapshot only: QEMU's image locks keep libvirt from
// starting the domain meanwhile.
import fs from "node:fs";
import { ProviderError } from "../errors";
import { openChainForRead, openChainForWrite } from "../chain-export/disk-access";
import type { DiskHandle } from "../types";
import { type DiskState, findSnapshotLayer, readDomainState } from "./disk-state";
import type { LibvirtHost } from "./host";
import { openRemoteChain } from "./remote-export";

export interface DiskAccessContext {
  host: LibvirtHost;
  /** Where this process keeps export sockets and pid files (per domain below it). */
  runDir: string;
}

function diskState(disks: DiskState[], vmId: string, label: string): DiskState {
  const disk = disks.find((d) => d.label === label);
  if (!disk) throw new ProviderError("not_found", `disk ${label} of VM ${vmId} not found`);
  return disk;
}

export async function openDiskForRead(
  context: DiskAccessContext,
  vmId: string,
  label: string,
  options: { at?: string },
): Promise<DiskHandle> {
  const state = await readDomainState(context.host, vmId);
  const disk = diskState(state.disks, vmId, label);
  if (state.running && options.at === undefined)
    throw new ProviderError(
      "busy",
      `VM ${state.domain.name} is running: read a frozen view (a protective snapshot) instead of its live disk`,
    );
  let files = disk.layers.map((l) => l.file);
  if (options.at !== undefined) {
    const found = findSnapshotLayer(disk, options.at);
    if (!found)
      throw new ProviderError("not_found", `snapshot ${options.at} not found on ${state.domain.name}/${label}`);
    files = files.slice(0, found.index);
  }
  return openChain(context, {
    files,
    vmId,
    exportName: `${label}-read${options.at ? `-at-${options.at}` : ""}`,
    writable: false,
    shared: state.running,
  });
}

export async function openSnapshotForWrite(
  context: DiskAccessContext,
  vmId: string,
  label: string,
  snapshot: string | undefined,
): Promise<DiskHandle> {
  const state = await readDomainState(context.host, vmId);
  const disk = diskState(state.disks, vmId, label);
  if (state.running)
    throw new ProviderError(
      "busy",
      `VM ${state.domain.name} is running: its snapshots are written only while it is off`,
    );
  if (snapshot !== undefined && disk.layers.at(-1)?.snapshot?.name !== snapshot) {
    const names = disk.layers.map((l) => l.snapshot?.name ?? "(image)");
    throw new ProviderError(
      "invalid",
      `snapshot ${snapshot} is not the top layer of ${state.domain.name}/${label} (layers: ${names.join(" ← ")})`,
    );
  }
  return openChain(context, {
    files: disk.layers.map((l) => l.file),
    vmId,
    exportName: `${label}-write${snapshot ? `-${snapshot}` : ""}`,
    writable: true,
    shared: false,
  });
}

function openChain(
  context: DiskAccessContext,
  request: { files: string[]; vmId: string; exportName: string; writable: boolean; shared: boolean },
): Promise<DiskHandle> {
  const runDir = `${context.runDir}/${request.vmId}`;
  // The export's pid file and monitor live here (its socket may move to a shorter path): it must exist.
  fs.mkdirSync(runDir, { recursive: true });
  if (!context.host.isLocal) return openRemoteChain(context.host, { ...request, runDir });
  const options = { files: request.files, runDir, exportName: request.exportName };
  return request.writable
    ? openChainForWrite(options)
    : openChainForRead({ ...options, shareWithRunningVm: request.shared });
}

/**
 * A write made by the running domain itself, through the guest's own block backend (lab and tests): it lands
 * where the guest's writes would, whatever layer is on top. Flushed, so readers of the files see it.
 */
export async function writePatternLive(
  host: LibvirtHost,
  vmId: string,
  label: string,
  offset: number,
  length: number,
  pattern: number,
): Promise<void> {
  const state = await readDomainState(host, vmId);
  const disk = diskState(state.disks, vmId, label);
  if (!state.running || !disk.alias)
    throw new ProviderError("invalid", `VM ${state.domain.name} is not running: write into its disk offline instead`);
  const backend = `/machine/peripheral/${disk.alias}/virtio-backend`;
  for (const command of [`write -P 0x${pattern.toString(16)} ${offset} ${length}`, "flush"]) {
    const reply = await host.virsh(["qemu-monitor-command", vmId, "--hmp", `qemu-io -d ${backend} "${command}"`]);
    if (/error|failed|Cannot find/i.test(reply))
      throw new ProviderError("hypervisor", `qemu-io ${command} on ${state.domain.name}/${label} failed`, reply.trim());
  }
}
