import { NBD_STATE_DIRTY, NBD_STATE_HOLE, NBD_STATE_ZERO } from "./protocol";

/**
 * A run of bytes with the same status in one meta context. The meaning of `flags` depends on
 * the context: for base:allocation HOLE=1 and ZERO=2; for qemu:dirty-bitmap:<name> 1 = dirty.
 */
export interface Extent {
  offset: number;
  length: number;
  flags: number;
}

/**
 * Merges neighbours with identical flags. Splitting a query into several requests (or a
 * server answering in pieces) creates boundaries that carry no information; callers comparing
 * or iterating extents should not see them.
 */
export function coalesceExtents(extents: readonly Extent[]): Extent[] {
  const out: Extent[] = [];
  for (const extent of extents) {
    const last = out[out.length - 1];
    if (last && last.flags === extent.flags && last.offset + last.length === extent.offset) {
      last.length += extent.length;
    } else {
      out.push({ ...extent });
    }
  }
  return out;
}

/** base:allocation: the range is not allocated in the backing storage. */
export function isHole(extent: Extent): boolean {
  return (extent.flags & NBD_STATE_HOLE) !== 0;
}

/** base:allocation: the range reads as zeroes (allocated or not). */
export function isZero(extent: Extent): boolean {
  return (extent.flags & NBD_STATE_ZERO) !== 0;
}

/** qemu:dirty-bitmap:<name>: the range changed since the bitmap was enabled/cleared. */
export function isDirty(extent: Extent): boolean {
  return (extent.flags & NBD_STATE_DIRTY) !== 0;
}
