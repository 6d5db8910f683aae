// Read-back: a range counts as done only once what was written into the target reads back the same. This
// catches a target that loses or corrupts writes before a checkpoint could claim the range.
import type { DiskHandle, Region } from "@/lib/providers/types";
import { chunkRegions, intersectRegions, normalizeRegions } from "@/lib/dataplane/regions";
import { type WrittenRun, blockDigests } from "./block-diff";
import { alignToBlocks } from "./block-geometry";
import { type BufferPool, readPooled } from "./buffer-pool";
import { forEachConcurrently } from "./concurrency";

export interface ReadBackContext {
  target: DiskHandle;
  blockSize: number;
  chunkBytes: number;
  concurrency: number;
  /** Buffers of chunkBytes for the reads: read-back reads as much as was written, and fresh buffers cost GC. */
  pool: BufferPool;
  /** Counts every byte read from the target. */
  onRead: (bytes: number) => void;
}

/** Blocks of `runs` whose content no longer has the digest that was written, coalesced into regions. */
export async function readBackMismatches(ctx: ReadBackContext, runs: readonly WrittenRun[]): Promise<Region[]> {
  const bad: Region[] = [];
  // Runs never exceed a read chunk (they are cut from one), so each fits a pooled buffer.
  await forEachConcurrently(runs, ctx.concurrency, async (run) => {
    const read = await readPooled(ctx.target, ctx.pool, run.offset, run.length);
    let found: bigint[];
    try {
      found = blockDigests(read.data, ctx.blockSize);
    } finally {
      read.release();
    }
    ctx.onRead(run.length);
    found.forEach((digest, i) => {
      if (digest !== run.digests[i]) {
        const offset = run.offset + i * ctx.blockSize;
        bad.push({ offset, length: Math.min(ctx.blockSize, run.offset + run.length - offset) });
      }
    });
  });
  return normalizeRegions(bad);
}

/**
 * Blocks of zeroed regions that do not read as zero. The target's map answers for most of it (a zero command
 * leaves a zero extent); only what the map still calls data is read and checked.
 */
export async function notZeroAfterZeroing(ctx: ReadBackContext, zeroed: readonly Region[]): Promise<Region[]> {
  const stillData: Region[] = [];
  for (const region of zeroed) stillData.push(...(await ctx.target.dataRegions(region.offset, region.length)));
  // Zeroed regions are block aligned, so aligning what lies inside them stays inside them.
  const toRead = alignToBlocks(intersectRegions(stillData, [...zeroed]), ctx.blockSize, ctx.target.sizeBytes);
  const zeroes = Buffer.alloc(ctx.chunkBytes);
  const bad: Region[] = [];
  await forEachConcurrently(chunkRegions(toRead, ctx.chunkBytes), ctx.concurrency, async (chunk) => {
    const read = await readPooled(ctx.target, ctx.pool, chunk.offset, chunk.length);
    try {
      const { data } = read;
      for (let at = 0; at < data.length; at += ctx.blockSize) {
        const length = Math.min(ctx.blockSize, data.length - at);
        if (!data.subarray(at, at + length).equals(zeroes.subarray(0, length)))
          bad.push({ offset: chunk.offset + at, length });
      }
    } finally {
      read.release();
    }
    ctx.onRead(chunk.length);
  });
  return normalizeRegions(bad);
}
