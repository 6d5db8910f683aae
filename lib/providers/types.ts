// What the failback engine asks of a hypervisor. Every mutating call is an idempotent "ensure": calling it
// again after a crash or retry finds its own work (by deterministic name) and has no second effect.
import type { ProviderError } from "./errors";

export type PowerState = "running" | "off" | "paused";

export interface DiskInfo {
  /** Stable within the VM: vda, vdb, … */
  label: string;
  sizeBytes: number;
  /** Where the provider finds the disk (qemu: the disk's folder; libvirt: its top image file). */
  locator: string;
}

export interface VmInfo {
  /** The provider's identity of the VM (qemu: its folder name within the site; libvirt: the domain's UUID). */
  id: string;
  name: string;
  cpus: number;
  memoryMib: number;
  /** The guest answers shutdown requests (QEMU guest agent or an ACPI-aware guest). */
  guestAgent: boolean;
  disks: DiskInfo[];
  /** Provider-specific configuration worth keeping (network, machine type, guest image). */
  config: Record<string, unknown>;
}

/** Settings a VM created "like another" may change (new_location target). */
export interface VmOverrides {
  cpus?: number;
  memoryMib?: number;
  network?: string;
  /**
   * Where the new VM's disks live: the storage of the host that will run it (qemu: that host's site folder, whose
   * provider then has the VM; libvirt: a folder or a folder-backed storage pool). Default: beside the source's.
   */
  storage?: string;
}

export type ShutdownPath =
  | "already_off"
  /** The guest shut itself down within the timeout. */
  | "graceful"
  /** The guest was asked but did not finish in time: powered off. */
  | "timeout_forced"
  /** No guest agent (or the VM was paused): powered off at once. */
  | "forced";

export interface ShutdownResult {
  path: ShutdownPath;
  waitedMs: number;
}

/**
 * The two snapshot kinds of the behaviour:
 * - working: on the production VM; its delta takes every write of the failback; removed by commit (into the
 *   disks) or discard (production untouched).
 * - protective: on the replica; freezes the disks at a point in time while the VM keeps writing into the
 *   delta; removed by merge (delta back into the disks) or reverted to (delta thrown away).
 */
export type SnapshotKind = "working" | "protective";

export interface SnapshotInfo {
  name: string;
  kind: SnapshotKind | "other";
  /** Disks that have this snapshot's layer. */
  disks: string[];
}

/** A contiguous range of a disk, in bytes. */
export interface Region {
  offset: number;
  length: number;
}

/** Block access to one disk or a frozen view of it. Handles must be closed. */
export interface DiskHandle {
  readonly sizeBytes: number;
  readonly writable: boolean;
  read(offset: number, length: number): Promise<Buffer>;
  /** Reads into a caller's buffer (reused across reads: no allocation per read). Optional; `read` otherwise. */
  readInto?(offset: number, target: Buffer): Promise<void>;
  write(offset: number, data: Buffer): Promise<void>;
  writeZeroes(offset: number, length: number): Promise<void>;
  flush(): Promise<void>;
  /** Allocated (or possibly non-zero) regions of the view; zero/unallocated ranges are left out. */
  dataRegions(offset?: number, length?: number): Promise<Region[]>;
  close(): Promise<void>;
}

/** A point from which changes are tracked. */
export type ChangeMarker =
  /** Source CBT: a persistent dirty bitmap started at the last replication. */
  | {
      kind: "bitmap";
      name: string;
      /**
       * Read the bitmap in the layers beneath snapshot `below` (failback's own working snapshot sits above the
       * source's tracking while quick rollback reads it; the failback's own writes are not "changes since").
       */
      below?: string;
    }
  /** Everything written into a snapshot layer (e.g. the replica's failover delta) since it was made. */
  | { kind: "layer"; name: string };

export type ChangedBlocks =
  | { available: true; regions: Region[]; granularity: number }
  /** CBT missing, reset or inconsistent: the caller falls back to a full comparison and says why. */
  | { available: false; reason: string };

export interface Provider {
  readonly kind: "qemu" | "libvirt";

  listVms(): Promise<VmInfo[]>;
  getVm(vmId: string): Promise<VmInfo>;
  powerState(vmId: string): Promise<PowerState>;
  powerOn(vmId: string): Promise<void>;
  /** Hard power-off. */
  powerOff(vmId: string): Promise<void>;
  /** Graceful when the VM has a guest agent (up to the timeout, then forced); forced at once otherwise. */
  shutdownGuest(vmId: string, options: { timeoutMs: number }): Promise<ShutdownResult>;

  ensureSnapshot(vmId: string, name: string, kind: SnapshotKind): Promise<void>;
  /** working: commit the delta into the disks. protective: merge the delta back. Gone already → no-op. */
  removeSnapshotKeepingChanges(vmId: string, name: string): Promise<void>;
  /** working: discard the delta. protective: revert to it (VM must be off). Gone already → no-op. */
  removeSnapshotDiscardingChanges(vmId: string, name: string): Promise<void>;
  listSnapshots(vmId: string): Promise<SnapshotInfo[]>;

  /** An empty VM with another's configuration plus overrides, registered under `name`. Exists → returned. */
  ensureVmLike(sourceVmId: string, name: string, overrides?: VmOverrides): Promise<VmInfo>;

  /** Reads the disk as it is now, or frozen as it was when protective snapshot `at` was made. */
  openDiskForRead(vmId: string, disk: string, options?: { at?: string }): Promise<DiskHandle>;
  /** Writes into working snapshot `snapshot`'s delta; the disks beneath stay untouched until commit. */
  openSnapshotForWrite(vmId: string, disk: string, snapshot: string): Promise<DiskHandle>;

  changedBlocks(vmId: string, disk: string, since: ChangeMarker): Promise<ChangedBlocks>;
  /** Starts change tracking afresh on every disk (a new, empty dirty bitmap `name`; any old one is dropped). */
  restartChangeTracking(vmId: string, name: string): Promise<void>;
  freeSpaceBytes(vmId: string): Promise<number>;
  /**
   * Brings the hypervisor's view of a VM back in line after a crash (half-made or half-removed snapshots,
   * leftover exports); the engine calls it at start-up for every VM of a live failback.
   */
  reconcile?(vmId: string): Promise<{ actions: string[]; problems: string[] }>;
  /**
   * Ends every block-access session (export) left open on the VM's disks by a worker that crashed or lost its
   * lease: the new owner calls it before working, so a stale worker's late writes find no disk to write to.
   * Returns how many were ended.
   */
  releaseDiskAccess?(vmId: string): Promise<number>;
}

export type { ProviderError };
