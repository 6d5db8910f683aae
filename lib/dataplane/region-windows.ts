// Cuts a sorted region list into successive windows in one forward pass, so planning range after range over a
// large disk's map costs O(extents) in total rather than O(ranges × extents).
import type { Region } from "@/lib/providers/types";

export class RegionWindows {
  private next = 0;

  /** `regions` must be sorted and non-overlapping (normalizeRegions' output). */
  constructor(private readonly regions: readonly Region[]) {}

  /** The parts of the regions inside `window`. Windows must come in increasing, non-overlapping order. */
  take(window: Region): Region[] {
    const windowEnd = window.offset + window.length;
    // Regions that end before this window can never meet a later one either.
    while (this.next < this.regions.length) {
      const r = this.regions[this.next] as Region;
      if (r.offset + r.length > window.offset) break;
      this.next++;
    }
    const parts: Region[] = [];
    for (let i = this.next; i < this.regions.length; i++) {
      const r = this.regions[i] as Region;
      if (r.offset >= windowEnd) break;
      const start = Math.max(r.offset, window.offset);
      const end = Math.min(r.offset + r.length, windowEnd);
      if (end > start) parts.push({ offset: start, length: end - start });
    }
    return parts;
  }
}
