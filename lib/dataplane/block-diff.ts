// The fast comparison: xxh64 of every block on both sides at the same offsets. Blocks are hashed as subarrays
// of the large read buffers (no per-block copies), and adjacent differing blocks become one write.
import { xxh64 } from "@node-rs/xxhash";
import type { Region } from "@/lib/providers/types";

/** A run of blocks written into the target, with the source digests the read-back must find again. */
export interface WrittenRun extends Region {
  digests: bigint[];
}

export interface TargetPart {
  offset: number;
  data: Buffer;
}

export interface ChunkDiff {
  runs: WrittenRun[];
  /** Blocks whose digest the target side had to compute (and, between sites, send). */
  targetDigests: number;
  blocksDiffering: number;
}

const zeroDigests = new Map<number, bigint>();

/** The digest of `length` zero bytes: what the target side "has" wherever its map says zero. */
export function zeroBlockDigest(length: number): bigint {
  let digest = zeroDigests.get(length);
  if (digest === undefined) {
    digest = xxh64(Buffer.alloc(length));
    zeroDigests.set(length, digest);
  }
  return digest;
}

/** Per-block xxh64 of `data`, which starts at a block boundary. */
export function blockDigests(data: Buffer, blockSize: number): bigint[] {
  const digests: bigint[] = [];
  for (let at = 0; at < data.length; at += blockSize)
    digests.push(xxh64(data.subarray(at, Math.min(at + blockSize, data.length))));
  return digests;
}

/**
 * Compares one chunk. `source` holds the whole chunk; `targetParts` (sorted, block aligned, inside the chunk)
 * hold the target's data blocks, and every other target block is zero.
 */
export function diffChunk(
  chunk: Region,
  source: Buffer,
  targetParts: readonly TargetPart[],
  blockSize: number,
): ChunkDiff {
  const runs: WrittenRun[] = [];
  let targetDigests = 0;
  let blocksDiffering = 0;
  let part = 0;
  let run: WrittenRun | undefined;
  for (let at = 0; at < chunk.length; at += blockSize) {
    const length = Math.min(blockSize, chunk.length - at);
    const offset = chunk.offset + at;
    const sourceDigest = xxh64(source.subarray(at, at + length));
    while (
      part < targetParts.length &&
      (targetParts[part] as TargetPart).offset + (targetParts[part] as TargetPart).data.length <= offset
    )
      part++;
    const covering = targetParts[part];
    let targetDigest: bigint;
    if (covering && covering.offset <= offset) {
      const inPart = offset - covering.offset;
      targetDigest = xxh64(covering.data.subarray(inPart, inPart + length));
      targetDigests++;
    } else {
      targetDigest = zeroBlockDigest(length);
    }
    if (sourceDigest === targetDigest) continue;
    blocksDiffering++;
    if (run && run.offset + run.length === offset) {
      run.length += length;
      run.digests.push(sourceDigest);
    } else {
      run = { offset, length, digests: [sourceDigest] };
      runs.push(run);
    }
  }
  return { runs, targetDigests, blocksDiffering };
}
