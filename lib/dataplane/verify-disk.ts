// verifyDisk: the switch-time check. Every block's sha256 on both sides, compared; the differing blocks are
// named so an operator (or a re-run of the sync over just those regions) knows where to look.
import type { DiskHandle, Region } from "@/lib/providers/types";
import { normalizeRegions } from "./regions";
import { DEFAULT_BLOCK_SIZE, checkBlockSize, checkSameSize } from "./block-geometry";
import { settleAll } from "./concurrency";
import { STRONG_DIGEST_BYTES, diskDigest } from "./disk-digest";
import { ProgressMeter } from "./progress";
import type { VerifyOptions, VerifyResult } from "./types";

export async function verifyDisk(
  source: DiskHandle,
  target: DiskHandle,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  const startedAt = performance.now();
  const diskBytes = checkSameSize(source, target);
  const blockSize = checkBlockSize(options.blockSize ?? DEFAULT_BLOCK_SIZE);
  // Progress counts the average of both sides' positions: the two reads run side by side.
  const meter = new ProgressMeter(options.onProgress, "verify", diskBytes).start();
  let coveredBothSides = 0;
  const covered = (bytes: number) => {
    coveredBothSides += bytes;
    meter.bytesScanned = Math.floor(coveredBothSides / 2);
  };
  try {
    const [ours, theirs] = await settleAll([
      diskDigest(source, { blockSize, concurrency: options.concurrency, onBytesCovered: covered }),
      diskDigest(target, { blockSize, concurrency: options.concurrency, onBytesCovered: covered }),
    ]);
    const mismatches: Region[] = [];
    for (let i = 0, at = 0; at < diskBytes; i++, at += blockSize) {
      const from = i * STRONG_DIGEST_BYTES;
      if (
        ours.blockDigests.compare(
          theirs.blockDigests,
          from,
          from + STRONG_DIGEST_BYTES,
          from,
          from + STRONG_DIGEST_BYTES,
        ) !== 0
      ) {
        mismatches.push({ offset: at, length: Math.min(blockSize, diskBytes - at) });
      }
    }
    meter.finish();
    return {
      ok: mismatches.length === 0,
      blockSize,
      mismatches: normalizeRegions(mismatches),
      sourceDigest: ours.digest,
      targetDigest: theirs.digest,
      bytesRead: ours.bytesRead + theirs.bytesRead,
      seconds: (performance.now() - startedAt) / 1000,
    };
  } finally {
    meter.stop();
  }
}
