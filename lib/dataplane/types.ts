// The data plane's public shapes: what a sync is asked to do, what it reports while running, and what it returns.
import type { DiskHandle, Region } from "@/lib/providers/types";

export interface SyncProgress {
  /** scan: mapping both disks before the pass; transfer: the diff + transfer pass; verify: strong digests. */
  phase: "scan" | "transfer" | "verify";
  /** Bytes of the wanted regions behind us (on resume this includes what earlier runs finished). */
  bytesScanned: number;
  bytesToScan: number;
  bytesChanged: number;
  bytesSent: number;
  /** Bytes scanned per second over a moving window of the last few seconds. */
  rateBytesPerSec: number;
  /** null until a rate is known. */
  etaSeconds: number | null;
}

/**
 * A resume point: every range below nextOffset was written, flushed and read back. Counters are those of the
 * finished ranges only, so a resumed run adds the rest without counting anything twice.
 */
export interface SyncCheckpoint {
  version: 1;
  blockSize: number;
  rangeBytes: number;
  /** Offsets ≥ nextOffset are not done. */
  nextOffset: number;
  bytesChanged: number;
  bytesSent: number;
}

export interface SyncOptions {
  source: DiskHandle;
  /** A writable working snapshot view whose reads show the current target content. */
  target: DiskHandle;
  /** Limit the diff (quick rollback: allocated(failover) ∪ dirty(source bitmap)); default: the whole disk. */
  regions?: Region[];
  /** Diff granularity; 64 KiB (the qcow2 cluster and CBT granularity) by default. */
  blockSize?: number;
  /** The checkpoint unit; 64 MiB by default. A multiple of blockSize. */
  rangeBytes?: number;
  /** Resume point from an earlier interrupted run (same disks, same regions). */
  checkpoint?: SyncCheckpoint | null;
  /** Called after each range is written AND read back, in disk order; persist it. A rejection stops the sync. */
  onCheckpoint?: (cp: SyncCheckpoint) => Promise<void>;
  /** At least once a second while running, and at the end. */
  onProgress?: (p: SyncProgress) => void;
  /** Stops at a safe point (between ranges): the sync rejects with an AbortError (a DOMException). */
  signal?: AbortSignal;
  /** In-flight reads per side; 8 by default. */
  concurrency?: number;
}

export interface SyncResult {
  /** Bytes of the wanted regions this run covered (read, proven zero by the maps, or both). */
  bytesScanned: number;
  /** Bytes of blocks whose target content was replaced: differing data blocks plus zeroed blocks. Carried across resumes. */
  bytesChanged: number;
  /** Blocks counted in bytesChanged, this run. */
  blocksChanged: number;
  /** What a two-site deployment would move between the sites (see README: digests, maps, framing, data). Carried across resumes. */
  bytesSent: number;
  /** Bytes zero or unallocated on both sides: neither read nor sent. */
  zeroBytesSkipped: number;
  /** Bytes made zero on the target by zero commands (source zero, target data): framing only. */
  bytesZeroed: number;
  zeroCommands: number;
  sourceBytesRead: number;
  /** Including the read-back of written ranges. */
  targetBytesRead: number;
  /** Data bytes written into the target, rewrites after a failed read-back included; zero commands excluded. */
  bytesWritten: number;
  /** Ranges finished (checkpointed) by this run. */
  rangesDone: number;
  /** The checkpoint's nextOffset, or 0. */
  resumedFrom: number;
  seconds: number;
}

export interface VerifyResult {
  ok: boolean;
  blockSize: number;
  /** Blocks whose strong digests differ, coalesced into regions. */
  mismatches: Region[];
  /** sha256 over the per-block sha256 digests: a content digest, equal for equal content. */
  sourceDigest: string;
  targetDigest: string;
  /** Bytes read from both sides together (blocks zero by the maps are not read). */
  bytesRead: number;
  seconds: number;
}

export interface VerifyOptions {
  blockSize?: number;
  onProgress?: (p: SyncProgress) => void;
  /** In-flight reads per side; 8 by default. */
  concurrency?: number;
}

export interface DiskDigestOptions {
  blockSize?: number;
  concurrency?: number;
  /** Bytes of the disk covered so far (read or proven zero), as reads complete. */
  onBytesCovered?: (bytes: number) => void;
}

export interface DiskDigest {
  /** sha256 over blockDigests. */
  digest: string;
  /** 32 bytes (sha256) per block, in disk order. */
  blockDigests: Buffer;
  bytesRead: number;
}
