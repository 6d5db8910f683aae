// The qemu provider: the Provider interface over a site directory of QEMU VMs (see site.ts for the layout).
// VM lifecycle and snapshots live in power.ts / snapshot-*.ts; block access and CBT in disk-access.ts / cbt.ts.
import fs from "node:fs";
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
import { QEMU_PROVIDER_SENTINEL } from "./boundary-sentinel";
import { dirtyRegions, ensurePersistentBitmap, layerAllocatedRegions, listBitmaps, removeBitmap } from "./cbt";
import { createVm, ensureVmLike, vmInfo, type NewVmConfig } from "./create-vm";
import { openChainForRead, openChainForWrite } from "../chain-export/disk-access";
import { freeSpaceBytes } from "./free-space";
import { writePatternLive } from "./live-disk-io";
import { stopLeftoverStorageDaemon } from "../chain-export/storage-daemon";
import * as power from "./power";
import { Site, vmIdPattern } from "./site";
import { ensureSnapshot } from "./snapshot-create";
import { removeSnapshotDiscardingChanges } from "./snapshot-discard";
import { listSnapshots } from "./snapshot-layers";
import { removeSnapshotKeepingChanges } from "./snapshot-merge";
import { reconcileVm } from "./snapshot-reconcile";
import { isRunning } from "./vm-liveness";
import { withVmLock } from "./vm-lock";

export interface QemuProviderOptions {
  siteDir: string;
  /** Where the tiny guest's kernel and initramfs are cached (<dataDir>/guest-cache). */
  guestCacheDir: string;
}

/** qcow2's default cluster size: the granularity of a layer's allocation map. */
const clusterBytes = 64 * 1024;

export class QemuProvider implements Provider {
  readonly kind = "qemu" as const;
  /** Set on every instance, so no bundler can drop it while this class is bundled (see ./boundary-sentinel). */
  readonly boundarySentinel = QEMU_PROVIDER_SENTINEL;
  readonly site: Site;

  constructor(private readonly options: QemuProviderOptions) {
    this.site = new Site(options.siteDir);
  }

  async listVms(): Promise<VmInfo[]> {
    return this.site.listVmIds().map((id) => vmInfo(this.site, id));
  }

  async getVm(vmId: string): Promise<VmInfo> {
    return vmInfo(this.site, vmId);
  }

  powerState(vmId: string): Promise<PowerState> {
    return power.powerState(this.site, vmId);
  }

  powerOn(vmId: string): Promise<void> {
    return power.powerOn(this.site, vmId, { guestCacheDir: this.options.guestCacheDir });
  }

  powerOff(vmId: string): Promise<void> {
    return power.powerOff(this.site, vmId);
  }

  shutdownGuest(vmId: string, options: { timeoutMs: number }): Promise<ShutdownResult> {
    return power.shutdownGuest(this.site, vmId, options);
  }

  ensureSnapshot(vmId: string, name: string, kind: SnapshotKind): Promise<void> {
    return ensureSnapshot(this.site, vmId, name, kind);
  }

  removeSnapshotKeepingChanges(vmId: string, name: string): Promise<void> {
    return removeSnapshotKeepingChanges(this.site, vmId, name);
  }

  removeSnapshotDiscardingChanges(vmId: string, name: string): Promise<void> {
    return removeSnapshotDiscardingChanges(this.site, vmId, name);
  }

  listSnapshots(vmId: string): Promise<SnapshotInfo[]> {
    return listSnapshots(this.site, vmId);
  }

  ensureVmLike(sourceVmId: string, name: string, overrides: VmOverrides = {}): Promise<VmInfo> {
    const target = overrides.storage ? new Site(overrides.storage) : this.site;
    return ensureVmLike(this.site, sourceVmId, vmIdFromName(name), { ...overrides, name }, target);
  }

  async openDiskForRead(vmId: string, disk: string, options: { at?: string } = {}): Promise<DiskHandle> {
    const running = isRunning(this.site, vmId);
    if (running && options.at === undefined) {
      // The top layer is being written: a consistent read needs a protective snapshot to freeze what is below.
      throw new ProviderError(
        "busy",
        `VM ${vmId} is running: read a frozen view (a protective snapshot) instead of its live disk`,
      );
    }
    const files = this.site.chainFiles(vmId, disk, { below: options.at });
    if (!files.length) throw new ProviderError("invalid", `nothing lies below ${options.at} on ${vmId}/${disk}`);
    return openChainForRead({
      files,
      runDir: this.site.runDir(vmId),
      exportName: `${disk}-read${options.at ? `-at-${options.at}` : ""}`,
      shareWithRunningVm: running,
    });
  }

  async openSnapshotForWrite(vmId: string, disk: string, snapshot: string): Promise<DiskHandle> {
    if (isRunning(this.site, vmId))
      throw new ProviderError("busy", `VM ${vmId} is running: its snapshots are written only while it is off`);
    const layers = this.layersOf(vmId, disk);
    if (layers.at(-1) !== snapshot) {
      throw new ProviderError(
        "invalid",
        `snapshot ${snapshot} is not the top layer of ${vmId}/${disk} (layers: ${layers.join(" ← ")})`,
      );
    }
    return openChainForWrite({
      files: this.site.chainFiles(vmId, disk),
      runDir: this.site.runDir(vmId),
      exportName: `${disk}-write-${snapshot}`,
    });
  }

  async changedBlocks(vmId: string, disk: string, since: ChangeMarker): Promise<ChangedBlocks> {
    if (since.kind === "layer") {
      if (!this.layersOf(vmId, disk).includes(since.name))
        return { available: false, reason: `layer ${since.name} does not exist on ${disk}` };
      return {
        available: true,
        regions: await layerAllocatedRegions(this.site.layerFile(vmId, disk, since.name)),
        granularity: clusterBytes,
      };
    }
    if (since.below !== undefined && !this.layersOf(vmId, disk).includes(since.below)) {
      return { available: false, reason: `snapshot ${since.below} does not exist on ${disk}` };
    }
    const files = this.site.chainFiles(vmId, disk, { below: since.below });
    // The bitmap lives in the layer that was on top when tracking started; overlays above it are not seen by it.
    for (let i = files.length - 1; i >= 0; i--) {
      const file = files[i] as string;
      const bitmap = (await listBitmaps(file)).find((b) => b.name === since.name);
      if (!bitmap) continue;
      if (i !== files.length - 1) {
        return {
          available: false,
          reason: `bitmap ${since.name} is below the snapshot layers of ${disk}: writes above it are not tracked`,
        };
      }
      return dirtyRegions({ files: files.slice(0, i + 1), runDir: this.site.runDir(vmId), bitmap: since.name });
    }
    return { available: false, reason: `no change tracking (bitmap ${since.name}) on ${disk}` };
  }

  async restartChangeTracking(vmId: string, name: string): Promise<void> {
    if (isRunning(this.site, vmId))
      throw new ProviderError(
        "unsupported",
        `restarting change tracking of a running VM (${vmId}) is not supported yet`,
      );
    await withVmLock(this.site, vmId, async () => {
      for (const disk of this.site.readConfig(vmId).disks) {
        const files = this.site.chainFiles(vmId, disk.label);
        for (const file of files) await removeBitmap(file, name);
        await ensurePersistentBitmap(files.at(-1) as string, name, clusterBytes);
      }
    });
  }

  async reconcile(vmId: string): Promise<{ actions: string[]; problems: string[] }> {
    const { actions, problems } = await reconcileVm(this.site, vmId);
    return { actions, problems };
  }

  async releaseDiskAccess(vmId: string): Promise<number> {
    const runDir = this.site.runDir(vmId);
    if (!fs.existsSync(runDir)) return 0;
    let ended = 0;
    for (const file of fs.readdirSync(runDir)) {
      const match = /^nbd-(.+)\.pid$/.exec(file);
      if (match) ended += (await stopLeftoverStorageDaemon(runDir, match[1] as string)).length;
    }
    return ended;
  }

  freeSpaceBytes(_vmId: string): Promise<number> {
    return freeSpaceBytes(this.site);
  }

  // ── qemu-specific: used by the lab and by tests ───────────────────────────────────────────────
  createVm(vmId: string, config: NewVmConfig): Promise<VmInfo> {
    return createVm(this.site, vmId, config);
  }

  /** Writes straight into the top layer of a powered-off VM's disk (filling lab disks). */
  async openTopForWrite(vmId: string, disk: string): Promise<DiskHandle> {
    const top = this.layersOf(vmId, disk).at(-1) as string;
    return this.openSnapshotForWrite(vmId, disk, top);
  }

  /** A write made by the running VM itself (through QEMU's block layer), as a user of the VM would. */
  writePatternThroughRunningVm(
    vmId: string,
    disk: string,
    offset: number,
    length: number,
    pattern: number,
  ): Promise<void> {
    return writePatternLive(this.site, vmId, disk, offset, length, pattern);
  }

  exists(vmId: string): boolean {
    return fs.existsSync(this.site.configFile(vmId));
  }

  private layersOf(vmId: string, disk: string): string[] {
    const found = this.site.readConfig(vmId).disks.find((d) => d.label === disk);
    if (!found) throw new ProviderError("not_found", `disk ${disk} of VM ${vmId} not found`);
    return found.layers;
  }
}

/** A VM id from a display name: lower-case letters, digits and dashes (deterministic, so re-runs find it). */
export function vmIdFromName(name: string): string {
  const id = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 63);
  if (!vmIdPattern.test(id))
    throw new ProviderError("invalid", `cannot make a VM id from the name ${JSON.stringify(name)}`);
  return id;
}
