import type { Region } from "@/lib/providers/types";

/** Sorted, non-overlapping, adjacent ranges joined. */
export function normalizeRegions(regions: Region[]): Region[] {
  const sorted = regions.filter((r) => r.length > 0).sort((a, b) => a.offset - b.offset);
  const out: Region[] = [];
  for (const r of sorted) {
    const last = out.at(-1);
    if (last && r.offset <= last.offset + last.length) {
      last.length = Math.max(last.length, r.offset + r.length - last.offset);
    } else {
      out.push({ ...r });
    }
  }
  return out;
}

export function intersectRegions(a: Region[], b: Region[]): Region[] {
  const x = normalizeRegions(a);
  const y = normalizeRegions(b);
  const out: Region[] = [];
  let i = 0;
  let j = 0;
  while (i < x.length && j < y.length) {
    const p = x[i] as Region;
    const q = y[j] as Region;
    const start = Math.max(p.offset, q.offset);
    const end = Math.min(p.offset + p.length, q.offset + q.length);
    if (start < end) out.push({ offset: start, length: end - start });
    if (p.offset + p.length < q.offset + q.length) i++;
    else j++;
  }
  return out;
}

/** Cuts regions into pieces of at most `size` bytes (large sequential I/O without unbounded buffers). */
export function* chunkRegions(regions: Region[], size: number): Generator<Region> {
  for (const r of regions) {
    for (let offset = r.offset; offset < r.offset + r.length; offset += size) {
      yield { offset, length: Math.min(size, r.offset + r.length - offset) };
    }
  }
}

export const totalBytes = (regions: Region[]) => regions.reduce((sum, r) => sum + r.length, 0);

/** `from` with every byte of `remove` cut out (both normalized). */
export function subtractRegions(from: Region[], remove: Region[]): Region[] {
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
