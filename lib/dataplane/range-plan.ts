// Decides, from both sides' allocation maps alone, what each block of a checkpoint range needs — before any
// data is read. Zero and unallocated ranges are provably zero, so they need no read on the side that has them.
import type { Region } from "@/lib/providers/types";
import { chunkRegions, intersectRegions, subtractRegions, totalBytes } from "./regions";
import { RegionWindows } from "./region-windows";

export interface ChunkPlan extends Region {
  /** Parts of the chunk where the target holds data and must be read to be compared; elsewhere it is zero. */
  targetReads: Region[];
}

export interface RangePlan {
  range: Region;
  /** Wanted bytes in this range. */
  wantedBytes: number;
  /** Source data: read in chunks of about 1 MiB and compared with the target block by block. */
  chunks: ChunkPlan[];
  /** Zero on the source, data on the target: made zero by command, nothing read. */
  zeroRegions: Region[];
  /** Zero on both sides: neither read nor written. */
  skippedBytes: number;
  /** Extents of both maps inside the wanted part of this range (they cross between the sites). */
  mapExtents: number;
}

export interface RangePlanner {
  plan(range: Region): RangePlan;
}

/** All arguments block aligned, sorted and non-overlapping; ranges must be planned in disk order. */
export function rangePlanner(input: { wanted: Region[]; sourceData: Region[]; targetData: Region[]; chunkBytes: number }): RangePlanner {
  const wanted = new RegionWindows(input.wanted);
  const sourceData = new RegionWindows(input.sourceData);
  const targetData = new RegionWindows(input.targetData);
  return {
    plan(range) {
      const wantedHere = wanted.take(range);
      const sourceHere = sourceData.take(range);
      const targetHere = targetData.take(range);
      const readSource = intersectRegions(wantedHere, sourceHere);
      const targetWithData = intersectRegions(wantedHere, targetHere);
      const zeroRegions = intersectRegions(subtractRegions(wantedHere, sourceHere), targetHere);
      const targetInChunks = new RegionWindows(targetWithData);
      const chunks = [...chunkRegions(readSource, input.chunkBytes)].map((c) => ({ ...c, targetReads: targetInChunks.take(c) }));
      const wantedBytes = totalBytes(wantedHere);
      return {
        range,
        wantedBytes,
        chunks,
        zeroRegions,
        skippedBytes: wantedBytes - totalBytes(readSource) - totalBytes(zeroRegions),
        mapExtents: readSource.length + targetWithData.length,
      };
    },
  };
}
