// Real, varied disk content for the lab: data regions from a seeded generator (so runs are reproducible),
// repeated patterns, explicit zero regions, and untouched sparse space.
import type { DiskHandle } from "@/lib/providers/types";

const block = 64 * 1024;

/** xorshift32: fast, seedable, good enough to make blocks that do not compress or repeat. */
export function seededBytes(seed: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 0x9e3779b9;
  for (let i = 0; i + 4 <= length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.writeUInt32LE(x >>> 0, i);
  }
  for (let i = length - (length % 4); i < length; i++) out[i] = i & 0xff;
  return out;
}

export function seededRandom(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

/**
 * Fills a fresh disk: a "boot" area of real data at the start, data extents spread over the disk (about
 * `dataShare` of it), a repeated 64 KiB pattern, and a zeroed region; the rest stays sparse.
 */
export async function fillDisk(disk: DiskHandle, seed: number, dataShare: number): Promise<void> {
  const size = disk.sizeBytes;
  const random = seededRandom(seed);
  await disk.write(0, seededBytes(seed, Math.min(size, 1024 * 1024)));
  const extents = 8;
  const extentLength = Math.max(block, Math.floor((size * dataShare) / extents / block) * block);
  for (let i = 0; i < extents; i++) {
    const slot = Math.floor(size / extents);
    const offset = Math.floor((i * slot + random() * Math.max(0, slot - extentLength)) / block) * block;
    if (offset < 1024 * 1024 || offset + extentLength > size) continue;
    for (let done = 0; done < extentLength; done += 1024 * 1024) {
      const length = Math.min(1024 * 1024, extentLength - done);
      await disk.write(offset + done, seededBytes(seed * 31 + i * 7919 + done, length));
    }
  }
  const pattern = Buffer.alloc(block, 0);
  pattern.write(`failback lab pattern ${seed} `.repeat(2000), "utf8");
  const patternOffset = Math.floor((size * 0.7) / block) * block;
  for (let i = 0; i < 16 && patternOffset + (i + 1) * block <= size; i++)
    await disk.write(patternOffset + i * block, pattern);
  const zeroOffset = Math.floor((size * 0.85) / block) * block;
  await disk.writeZeroes(zeroOffset, Math.min(16 * block, size - zeroOffset));
  await disk.flush();
}

/** Overwrites `count` random 64 KiB blocks: the production side's changes after a replication. */
export async function changeRandomBlocks(disk: DiskHandle, seed: number, count: number): Promise<number[]> {
  const random = seededRandom(seed);
  const blocks = Math.floor(disk.sizeBytes / block);
  const offsets: number[] = [];
  for (let i = 0; i < count; i++) {
    const offset = Math.floor(random() * blocks) * block;
    await disk.write(offset, seededBytes(seed + i * 104_729, block));
    offsets.push(offset);
  }
  await disk.flush();
  return offsets;
}
