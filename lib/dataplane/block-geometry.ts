// Block and range arithmetic. Both sides are cut at the same fixed offsets (no rolling search), so a block's
// digest on one side is comparable with the other side's digest at the same offset.
import type { DiskHandle, Region } from "@/lib/providers/types";
import { normalizeRegions } from "@/lib/dataplane/regions";

export const DEFAULT_BLOCK_SIZE = 65536;
export const DEFAULT_RANGE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_CONCURRENCY = 8;
/** Large sequential reads: big enough to amortise a request, small enough to keep several in flight. */
export const READ_CHUNK_BYTES = 1024 * 1024;

export function checkBlockSize(blockSize: number): number {
  // 512-byte multiples keep every request sector aligned, so the storage never has to read-modify-write.
  if (!Number.isSafeInteger(blockSize) || blockSize <= 0 || blockSize % 512 !== 0) {
    throw new RangeError(`block size must be a positive multiple of 512 bytes, got ${blockSize}`);
  }
  return blockSize;
}

export function checkConcurrency(concurrency: number): number {
  if (!Number.isSafeInteger(concurrency) || concurrency < 1)
    throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  return concurrency;
}

/** The two views must be the same disk geometry; a resized disk is a different question than a diff. */
export function checkSameSize(source: DiskHandle, target: DiskHandle): number {
  if (source.sizeBytes !== target.sizeBytes) {
    throw new Error(
      `source and target disks differ in size (source ${source.sizeBytes} bytes, target ${target.sizeBytes} bytes): ` +
        "resize the target to the source's size before syncing",
    );
  }
  return source.sizeBytes;
}

/** The read size: a whole number of blocks, about READ_CHUNK_BYTES. */
export function readChunkBytes(blockSize: number): number {
  return Math.max(blockSize, Math.floor(READ_CHUNK_BYTES / blockSize) * blockSize);
}

/** Regions grown outward to whole blocks and clipped at the disk's end (whose last block may be short). */
export function alignToBlocks(regions: readonly Region[], blockSize: number, diskBytes: number): Region[] {
  const aligned: Region[] = [];
  for (const r of regions) {
    const start = Math.max(0, Math.floor(r.offset / blockSize) * blockSize);
    const end = Math.min(diskBytes, Math.ceil((r.offset + r.length) / blockSize) * blockSize);
    if (end > start) aligned.push({ offset: start, length: end - start });
  }
  return normalizeRegions(aligned);
}

/** The fixed grid of checkpoint ranges over [from, diskBytes): range i is [i·rangeBytes, (i+1)·rangeBytes). */
export function* checkpointRanges(from: number, diskBytes: number, rangeBytes: number): Generator<Region> {
  for (let offset = from; offset < diskBytes; offset += rangeBytes) {
    yield { offset, length: Math.min(rangeBytes, diskBytes - offset) };
  }
}

/** Blocks in `length` bytes; the disk's last block may be short. */
export function blockCount(length: number, blockSize: number): number {
  return Math.ceil(length / blockSize);
}
