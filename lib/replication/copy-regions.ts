// A plain, correct block copy between two disk handles (the data plane replaces it with a faster diff later).
// Ranges that are zero or unallocated in the source become zero writes instead of data.
import type { DiskHandle, Region } from "@/lib/providers/types";
import { chunkRegions, intersectRegions, normalizeRegions, totalBytes } from "./regions";

export interface CopyProgress {
  bytesDone: number;
  bytesTotal: number;
}

export interface CopyResult {
  dataBytes: number;
  zeroBytes: number;
}

const chunkSize = 1024 * 1024;

export async function copyRegions(
  source: DiskHandle,
  target: DiskHandle,
  regions: Region[],
  onProgress?: (p: CopyProgress) => void,
): Promise<CopyResult> {
  const wanted = normalizeRegions(regions);
  const data = intersectRegions(wanted, await source.dataRegions());
  const bytesTotal = totalBytes(wanted);
  let bytesDone = 0;
  // Everything wanted that holds no data in the source must read as zeros in the target.
  const zeros = subtract(wanted, data);
  for (const piece of chunkRegions(zeros, 64 * chunkSize)) {
    await target.writeZeroes(piece.offset, piece.length);
    bytesDone += piece.length;
    onProgress?.({ bytesDone, bytesTotal });
  }
  for (const piece of chunkRegions(data, chunkSize)) {
    await target.write(piece.offset, await source.read(piece.offset, piece.length));
    bytesDone += piece.length;
    onProgress?.({ bytesDone, bytesTotal });
  }
  await target.flush();
  return { dataBytes: totalBytes(data), zeroBytes: totalBytes(zeros) };
}

function subtract(from: Region[], remove: Region[]): Region[] {
  const out: Region[] = [];
  let j = 0;
  for (const r of from) {
    let cursor = r.offset;
    const end = r.offset + r.length;
    while (j < remove.length && (remove[j] as Region).offset + (remove[j] as Region).length <= cursor) j++;
    for (let k = j; k < remove.length && (remove[k] as Region).offset < end; k++) {
      const cut = remove[k] as Region;
      if (cut.offset > cursor) out.push({ offset: cursor, length: cut.offset - cursor });
      cursor = Math.max(cursor, cut.offset + cut.length);
    }
    if (cursor < end) out.push({ offset: cursor, length: end - cursor });
  }
  return out;
}

export { subtract as subtractRegions };
