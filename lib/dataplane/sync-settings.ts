// Checks a sync's options (and the checkpoint it resumes from) before any I/O, so a wrong geometry or a
// checkpoint from another configuration fails loudly instead of silently skipping unsynced ranges.
import type { Region } from "@/lib/providers/types";
import { intersectRegions, totalBytes } from "./regions";
import {
  DEFAULT_BLOCK_SIZE,
  DEFAULT_CONCURRENCY,
  DEFAULT_RANGE_BYTES,
  alignToBlocks,
  checkBlockSize,
  checkConcurrency,
  checkSameSize,
  readChunkBytes,
} from "./block-geometry";
import type { SyncOptions } from "./types";

export interface SyncSettings {
  diskBytes: number;
  blockSize: number;
  rangeBytes: number;
  chunkBytes: number;
  concurrency: number;
  /** Where this run starts: 0, or the checkpoint's nextOffset. */
  startOffset: number;
  /** Counters of the ranges finished by earlier runs. */
  carried: { bytesChanged: number; bytesSent: number };
  /** Block aligned, sorted, clipped at the disk's end. */
  wanted: Region[];
  /** Wanted bytes below startOffset (done by earlier runs). */
  wantedBefore: number;
}

export function resolveSyncSettings(options: SyncOptions): SyncSettings {
  const { source, target, checkpoint } = options;
  const diskBytes = checkSameSize(source, target);
  if (!target.writable) throw new Error("the sync target is read-only: open the working snapshot for writing");
  // A resumed run keeps the geometry it started with unless the caller insists on another (which is refused).
  const blockSize = checkBlockSize(options.blockSize ?? checkpoint?.blockSize ?? DEFAULT_BLOCK_SIZE);
  const rangeBytes = options.rangeBytes ?? checkpoint?.rangeBytes ?? DEFAULT_RANGE_BYTES;
  if (!Number.isSafeInteger(rangeBytes) || rangeBytes < blockSize || rangeBytes % blockSize !== 0) {
    throw new RangeError(`rangeBytes must be a positive multiple of the block size (${blockSize}), got ${rangeBytes}`);
  }
  let startOffset = 0;
  let carried = { bytesChanged: 0, bytesSent: 0 };
  if (checkpoint) {
    if (checkpoint.version !== 1) throw new Error(`unknown sync checkpoint version ${String(checkpoint.version)}`);
    if (checkpoint.blockSize !== blockSize || checkpoint.rangeBytes !== rangeBytes) {
      throw new Error(
        `the checkpoint was made with block size ${checkpoint.blockSize} and range ${checkpoint.rangeBytes}, ` +
          `this sync uses ${blockSize} and ${rangeBytes}: resume with the checkpoint's geometry or start afresh`,
      );
    }
    const next = checkpoint.nextOffset;
    if (
      !Number.isSafeInteger(next) ||
      next < 0 ||
      next > diskBytes ||
      (next % rangeBytes !== 0 && next !== diskBytes)
    ) {
      throw new Error(`the checkpoint's nextOffset ${next} is not a range boundary of this ${diskBytes}-byte disk`);
    }
    startOffset = next;
    carried = { bytesChanged: checkpoint.bytesChanged, bytesSent: checkpoint.bytesSent };
  }
  const wanted = alignToBlocks(options.regions ?? [{ offset: 0, length: diskBytes }], blockSize, diskBytes);
  return {
    diskBytes,
    blockSize,
    rangeBytes,
    chunkBytes: readChunkBytes(blockSize),
    concurrency: checkConcurrency(options.concurrency ?? DEFAULT_CONCURRENCY),
    startOffset,
    carried,
    wanted,
    wantedBefore: totalBytes(intersectRegions(wanted, [{ offset: 0, length: startOffset }])),
  };
}
