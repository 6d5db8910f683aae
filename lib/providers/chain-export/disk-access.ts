// Opens a qcow2 chain as a DiskHandle: a qemu-storage-daemon exports it over NBD and our client talks to it;
// reads go straight to the layers' files where the chain's map allows (direct-disk-handle.ts).
import { NbdClient } from "@/lib/nbd";
import type { DiskHandle } from "../types";
import { DirectReadDiskHandle, openDirectReader } from "./direct-disk-handle";
import { NbdDiskHandle, providerErrorFromNbd } from "./disk-handle";
import { type StorageDaemon, startStorageDaemon, stopLeftoverStorageDaemon } from "./storage-daemon";

export interface ChainAccessOptions {
  /** Absolute paths of the chain's qcow2 files, bottom → top; the handle sees the disk as the top file shows it. */
  files: readonly string[];
  /** Where the socket, pid file and monitor live (the VM's run directory). */
  runDir: string;
  /** Unique per disk and purpose within runDir; reopening with the same name replaces the previous export. */
  exportName: string;
  /** Per-request limit, so a daemon that stops answering cannot hang a copy. Default 120 s. */
  requestTimeoutMs?: number;
  /**
   * Read mapped clusters straight from the layers' files instead of through the daemon (default true). Off, every
   * byte goes over NBD: for tests of that path, and for chains on storage this process cannot open.
   */
  directReads?: boolean;
}

export interface ReadAccessOptions extends ChainAccessOptions {
  /** The files are backing files of a running VM: share them (force-share) instead of locking them. */
  shareWithRunningVm?: boolean;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 120_000;
const CONNECT_TIMEOUT_MS = 10_000;

/** A read-only view ending at files[files.length - 1]; layers above it (if any) are not part of the view. */
export function openChainForRead(options: ReadAccessOptions): Promise<DiskHandle> {
  return openChain(options, { writable: false, shareWithRunningVm: options.shareWithRunningVm ?? false });
}

/** Writes land in files[files.length - 1] only; every file below is opened read-only. */
export function openChainForWrite(options: ChainAccessOptions): Promise<DiskHandle> {
  return openChain(options, { writable: true, shareWithRunningVm: false });
}

async function openChain(
  options: ChainAccessOptions,
  mode: { writable: boolean; shareWithRunningVm: boolean },
): Promise<DiskHandle> {
  // After a crash the previous export may still run and hold the image locks: stop it so a retried step
  // gets the same export again instead of a second daemon (or a lock failure).
  await stopLeftoverStorageDaemon(options.runDir, options.exportName);
  // The chain's map (a qemu-img run of its own) is taken while the daemon starts instead of at the first read.
  const mapping = options.directReads === false ? undefined : openDirectReader(options.files, mode.writable);
  try {
    const daemon = await startStorageDaemon({ ...options, ...mode });
    const client = await connectToDaemon(daemon, options);
    const description = `${options.files[options.files.length - 1]} (export ${options.exportName}${mode.writable ? "" : ", read-only"})`;
    const handle = new NbdDiskHandle(client, daemon, description);
    return mapping ? new DirectReadDiskHandle(handle, mapping) : handle;
  } catch (error) {
    // No handle will own the mapped files: close them here.
    void mapping?.then((opened) => opened.reader?.close());
    throw error;
  }
}

/** Our NBD client on the daemon's export; a daemon whose export cannot be reached is stopped, not leaked. */
export async function connectToDaemon(
  daemon: StorageDaemon,
  options: { requestTimeoutMs?: number; metaContexts?: readonly string[] },
): Promise<NbdClient> {
  try {
    return await NbdClient.connect({
      socketPath: daemon.socketPath,
      exportName: daemon.exportName,
      metaContexts: options.metaContexts ?? ["base:allocation"],
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    });
  } catch (err) {
    await daemon.stop();
    throw providerErrorFromNbd(err, `connecting to NBD export ${daemon.exportName}`);
  }
}
