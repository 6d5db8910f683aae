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
export function rangePlanner(input: {
  wanted: Region[];
  sourceData: Region[];
  targetData: Region[];
  chunkBytes: number;
}): RangePlanner {
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
      const chunks = [...chunkRegions(readSource, input.chunkBytes)].map((c) => ({
        ...c,
        targetReads: targetInChunks.take(c),
      }));
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

/**
 * The units of work and checkpointing: each checkpoint range on its own while ranges are full of wanted bytes
 * (a whole-disk diff), but consecutive sparse ranges (quick rollback's scattered blocks) gathered until they
 * hold one range's worth of wanted bytes. Every unit still ends on a range boundary, and a crash costs at most
 * one range's worth of work again — but a quick rollback of 20 MiB spread over a 2 GiB disk flushes and reads
 * back once instead of 32 times.
 */
export function* workUnits(planner: RangePlanner, ranges: Iterable<Region>, rangeBytes: number): Generator<RangePlan> {
  let pending: RangePlan | undefined;
  for (const range of ranges) {
    const plan = planner.plan(range);
    if (plan.wantedBytes === 0) continue;
    if (pending && pending.wantedBytes + plan.wantedBytes <= rangeBytes) {
      pending = joinPlans(pending, plan);
      continue;
    }
    if (pending) yield pending;
    pending = plan;
  }
  if (pending) yield pending;
}

/** `later` follows `earlier` on the disk; whatever lies between them has no wanted byte. */
export function joinPlans(earlier: RangePlan, later: RangePlan): RangePlan {
  return {
    range: { offset: earlier.range.offset, length: later.range.offset + later.range.length - earlier.range.offset },
    wantedBytes: earlier.wantedBytes + later.wantedBytes,
    chunks: [...earlier.chunks, ...later.chunks],
    zeroRegions: [...earlier.zeroRegions, ...later.zeroRegions],
    skippedBytes: earlier.skippedBytes + later.skippedBytes,
    mapExtents: earlier.mapExtents + later.mapExtents,
  };
}
