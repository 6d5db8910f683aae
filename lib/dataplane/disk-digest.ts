// Strong per-block digests (sha256) of a whole disk, for the switch-time verification. Blocks the disk's map
// proves zero get the zero block's digest without a read: equal content, equal digest, whatever the layout.
import { createHash } from "node:crypto";
import type { DiskHandle } from "@/lib/providers/types";
import { BufferPool, readPooled } from "./buffer-pool";
import { chunkRegions, subtractRegions } from "./regions";
import {
  DEFAULT_BLOCK_SIZE,
  DEFAULT_CONCURRENCY,
  alignToBlocks,
  checkBlockSize,
  checkConcurrency,
  readChunkBytes,
} from "./block-geometry";
import { forEachConcurrently } from "./concurrency";
import type { DiskDigest, DiskDigestOptions } from "./types";

export const STRONG_DIGEST_BYTES = 32;

const zeroDigests = new Map<number, Buffer>();

function zeroBlockSha256(length: number): Buffer {
  let digest = zeroDigests.get(length);
  if (!digest) {
    digest = createHash("sha256").update(Buffer.alloc(length)).digest();
    zeroDigests.set(length, digest);
  }
  return digest;
}

export async function diskDigest(handle: DiskHandle, options: DiskDigestOptions = {}): Promise<DiskDigest> {
  const blockSize = checkBlockSize(options.blockSize ?? DEFAULT_BLOCK_SIZE);
  const concurrency = checkConcurrency(options.concurrency ?? DEFAULT_CONCURRENCY);
  const diskBytes = handle.sizeBytes;
  const blockDigests = Buffer.alloc(Math.ceil(diskBytes / blockSize) * STRONG_DIGEST_BYTES);
  const data = alignToBlocks(await handle.dataRegions(), blockSize, diskBytes);
  const put = (offset: number, digest: Buffer) => digest.copy(blockDigests, (offset / blockSize) * STRONG_DIGEST_BYTES);

  for (const zero of subtractRegions([{ offset: 0, length: diskBytes }], data)) {
    for (let at = zero.offset; at < zero.offset + zero.length; at += blockSize)
      put(at, zeroBlockSha256(Math.min(blockSize, diskBytes - at)));
    options.onBytesCovered?.(zero.length);
  }

  let bytesRead = 0;
  // Page aligned: a whole-disk pass reads around the page cache where the handle can (no kernel copy, no
  // eviction of what the VMs have cached).
  const pool = new BufferPool(readChunkBytes(blockSize), true);
  // Digests land at their block's index, so chunks may complete in any order.
  await forEachConcurrently(chunkRegions(data, readChunkBytes(blockSize)), concurrency, async (chunk) => {
    const read = await readPooled(handle, pool, chunk.offset, chunk.length);
    try {
      const buffer = read.data;
      bytesRead += chunk.length;
      for (let at = 0; at < buffer.length; at += blockSize) {
        put(
          chunk.offset + at,
          createHash("sha256")
            .update(buffer.subarray(at, Math.min(at + blockSize, buffer.length)))
            .digest(),
        );
      }
    } finally {
      read.release();
    }
    options.onBytesCovered?.(chunk.length);
  });
  return { digest: createHash("sha256").update(blockDigests).digest("hex"), blockDigests, bytesRead };
}
