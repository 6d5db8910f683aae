// The libvirt provider: the Provider interface over a libvirt daemon, here (`qemu:///system`) or across SSH
// (`qemu+ssh://user@host/system?keyfile=…`). A VM is a domain named by its UUID; its disks are what its
// definition says. What libvirt 9.0 allows, and why each operation is built as it is: lib/providers/README.md.
import os from "node:os";
import path from "node:path";
import { ProviderError } from "../errors";
import type {
  ChangeMarker,
  ChangedBlocks,
  DiskHandle,
  PowerState,
  Provider,
  ShutdownResult,
  SnapshotInfo,
  SnapshotKind,
  VmInfo,
  VmOverrides,
} from "../types";
import { stopLeftoverStorageDaemon } from "../chain-export/storage-daemon";
import { LIBVIRT_PROVIDER_SENTINEL } from "./boundary-sentinel";
import { changedSinceCheckpoint, restartCheckpoint } from "./checkpoints";
import { createDomain, ensureDomainLike, type NewDomainConfig } from "./create";
import { openDiskForRead, openSnapshotForWrite, writePatternLive } from "./disk-access";
import { findSnapshotLayer, readDomainState } from "./disk-state";
import { checkVmId, powerState } from "./domains";
import { LibvirtHost } from "./host";
import { layerRegions } from "./layer-regions";
import * as power from "./power";
import { reconcileDomain, reconcileOrThrow } from "./reconcile";
import { stopRemoteExports } from "./remote-export";
import { inventory, vmInfo } from "./inventory";
import * as snapshots from "./snapshots";
import type { StepHook } from "./snapshots";

export interface LibvirtProviderOptions {
  /** qemu:///system, or qemu+ssh://user@host[:port]/system?keyfile=… */
  uri: string;
  /** Where new domains' disks go when nothing else is said (a folder on the host). */
  storageDir?: string;
  /** Where this process keeps its export sockets and pid files (on the worker's machine). */
  runDir?: string;
  /** Tests: called between the sub-steps of snapshot operations (to kill the process there). */
  onStep?: StepHook;
}

export const DEFAULT_STORAGE_DIR = "/var/lib/libvirt/images/failback";

export class LibvirtProvider implements Provider {
  readonly kind = "libvirt" as const;
  /** Set on every instance, so no bundler can drop it while this class is bundled (see ./boundary-sentinel). */
  readonly boundarySentinel = LIBVIRT_PROVIDER_SENTINEL;
  readonly host: LibvirtHost;
  readonly storageDir: string;
  private readonly runDir: string;
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly options: LibvirtProviderOptions) {
    this.host = new LibvirtHost(options.uri);
    this.storageDir = options.storageDir ?? DEFAULT_STORAGE_DIR;
    this.runDir = options.runDir ?? path.join(os.tmpdir(), "failback-libvirt-run");
  }

  listVms(): Promise<VmInfo[]> {
    return inventory(this.host);
  }

  getVm(vmId: string): Promise<VmInfo> {
    return vmInfo(this.host, vmId);
  }

  powerState(vmId: string): Promise<PowerState> {
    return powerState(this.host, vmId);
  }

  powerOn(vmId: string): Promise<void> {
    return this.locked(vmId, async () => {
      if ((await powerState(this.host, vmId)) === "off") await reconcileOrThrow(this.host, vmId);
      await power.powerOn(this.host, vmId);
    });
  }

  powerOff(vmId: string): Promise<void> {
    return this.locked(vmId, () => power.powerOff(this.host, vmId));
  }

  shutdownGuest(vmId: string, options: { timeoutMs: number }): Promise<ShutdownResult> {
    return this.locked(vmId, () => power.shutdownGuest(this.host, vmId, options));
  }

  ensureSnapshot(vmId: string, name: string, kind: SnapshotKind): Promise<void> {
    return this.withReconcile(vmId, () => snapshots.ensureSnapshot(this.host, vmId, name, kind, this.options.onStep));
  }

  removeSnapshotKeepingChanges(vmId: string, name: string): Promise<void> {
    return this.withReconcile(vmId, () =>
      snapshots.removeSnapshotKeepingChanges(this.host, vmId, name, this.options.onStep),
    );
  }

  removeSnapshotDiscardingChanges(vmId: string, name: string): Promise<void> {
    return this.withReconcile(vmId, () =>
      snapshots.removeSnapshotDiscardingChanges(this.host, vmId, name, this.options.onStep),
    );
  }

  listSnapshots(vmId: string): Promise<SnapshotInfo[]> {
    return snapshots.listSnapshots(this.host, vmId);
  }

  async ensureVmLike(sourceVmId: string, name: string, overrides: VmOverrides = {}): Promise<VmInfo> {
    const source = await vmInfo(this.host, sourceVmId);
    const sizes = Object.fromEntries(
      source.disks.map((d) => [d.label, { sizeBytes: d.sizeBytes, folder: path.dirname(d.locator) }]),
    );
    const uuid = await ensureDomainLike(this.host, sourceVmId, name, overrides, sizes);
    return vmInfo(this.host, uuid);
  }

  openDiskForRead(vmId: string, disk: string, options: { at?: string } = {}): Promise<DiskHandle> {
    return openDiskForRead(this.diskAccess(), vmId, disk, options);
  }

  openSnapshotForWrite(vmId: string, disk: string, snapshot: string): Promise<DiskHandle> {
    return openSnapshotForWrite(this.diskAccess(), vmId, disk, snapshot);
  }

  async changedBlocks(vmId: string, disk: string, since: ChangeMarker): Promise<ChangedBlocks> {
    const state = await readDomainState(this.host, vmId);
    const found = state.disks.find((d) => d.label === disk);
    if (!found) throw new ProviderError("not_found", `disk ${disk} of VM ${state.domain.name} not found`);
    if (since.kind === "layer") {
      const layer = findSnapshotLayer(found, since.name);
      if (!layer) return { available: false, reason: `layer ${since.name} does not exist on ${disk}` };
      return { available: true, regions: await layerRegions(this.host, layer.layer.file), granularity: 64 * 1024 };
    }
    let layers = found.layers;
    if (since.below !== undefined) {
      const below = findSnapshotLayer(found, since.below);
      if (!below) return { available: false, reason: `snapshot ${since.below} does not exist on ${disk}` };
      layers = layers.slice(0, below.index);
    } else if (state.running) {
      // The top layer is open for writing in QEMU: its bitmap is in use and only QEMU knows it.
      return {
        available: false,
        reason: `VM ${state.domain.name} is running: its change tracking is read below a snapshot or while it is off`,
      };
    }
    return changedSinceCheckpoint(this.host, layers, since.name, disk);
  }

  restartChangeTracking(vmId: string, name: string): Promise<void> {
    return this.withReconcile(vmId, async () => {
      const state = await readDomainState(this.host, vmId);
      await restartCheckpoint(
        this.host,
        vmId,
        name,
        state.running,
        state.disks.map((d) => d.top),
      );
    });
  }

  /** Free space where the VM's disks are; with no VM (""), where new VMs' disks would go (the storage folder). */
  async freeSpaceBytes(vmId: string): Promise<number> {
    const vm = vmId === "" ? undefined : await vmInfo(this.host, vmId);
    const folder = vm?.disks[0] ? path.dirname(vm.disks[0].locator) : this.storageDir;
    // The folder may not exist yet (made with the first disk): its nearest existing parent has the same space.
    const { stdout } = await this.host.run("sh", [
      "-c",
      'd="$1"; while [ ! -d "$d" ]; do d=$(dirname "$d"); done; df -B1 --output=avail "$d"',
      "sh",
      folder,
    ]);
    const bytes = Number(stdout.trim().split("\n").at(-1));
    if (!Number.isFinite(bytes)) throw new ProviderError("hypervisor", `df of ${folder} gave no number`, stdout);
    return bytes;
  }

  reconcile(vmId: string): Promise<{ actions: string[]; problems: string[] }> {
    return this.locked(vmId, () => reconcileDomain(this.host, vmId));
  }

  async releaseDiskAccess(vmId: string): Promise<number> {
    checkVmId(vmId);
    if (!this.host.isLocal) return stopRemoteExports(this.host, vmId);
    const dir = path.join(this.runDir, vmId);
    const fs = await import("node:fs");
    if (!fs.existsSync(dir)) return 0;
    let ended = 0;
    for (const file of fs.readdirSync(dir)) {
      const match = /^nbd-(.+)\.pid$/.exec(file);
      if (match) ended += (await stopLeftoverStorageDaemon(dir, match[1] as string)).length;
    }
    return ended;
  }

  // ── libvirt-specific: used by the lab and by tests ───────────────────────────────────────────────
  async createVm(config: NewDomainConfig): Promise<VmInfo> {
    const uuid = await createDomain(this.host, this.storageDir, config);
    return vmInfo(this.host, uuid);
  }

  /** Writes straight into the top layer of a powered-off domain's disk (filling lab disks). */
  openTopForWrite(vmId: string, disk: string): Promise<DiskHandle> {
    return openSnapshotForWrite(this.diskAccess(), vmId, disk, undefined);
  }

  writePatternThroughRunningVm(vmId: string, disk: string, offset: number, length: number, pattern: number) {
    return writePatternLive(this.host, vmId, disk, offset, length, pattern);
  }

  private diskAccess() {
    return { host: this.host, runDir: this.runDir };
  }

  private withReconcile<T>(vmId: string, work: () => Promise<T>): Promise<T> {
    return this.locked(vmId, async () => {
      await reconcileOrThrow(this.host, vmId);
      return work();
    });
  }

  /** One operation at a time per domain in this process (the engine's leases keep other workers away). */
  private locked<T>(vmId: string, work: () => Promise<T>): Promise<T> {
    checkVmId(vmId);
    const previous = this.locks.get(vmId) ?? Promise.resolve();
    const run = previous.then(work, work);
    const settled = run.catch(() => {});
    this.locks.set(vmId, settled);
    void settled.then(() => {
      if (this.locks.get(vmId) === settled) this.locks.delete(vmId);
    });
    return run;
  }
}
