// The data-plane benchmark's disks: a source and a target with varied, mostly incompressible content, and a
// seeded set of changed 64 KiB blocks in the source (tracked by a persistent dirty bitmap, as CBT would).
//
// Every file lives in `dir`:
//   target.qcow2 / target.raw   the content before the changes (the "unsynced target")
//   source.qcow2 / source.raw   the same content with the changes applied; source.qcow2 carries the bitmap
import { open } from "node:fs/promises";
import path from "node:path";
import { ensurePersistentBitmap } from "@/lib/providers/qemu/cbt";
import { openChainForWrite } from "@/lib/providers/chain-export/disk-access";
import { run } from "./exec";
import { qcow2FromRaw, zeroQcow2Regions } from "./images";
import { RandomBytes, SeededRandom } from "./random";

export const CHANGE_BLOCK_SIZE = 64 * 1024;
export const BENCH_BITMAP = "bench-cbt";

export type SegmentKind = "data" | "pattern" | "zero" | "unallocated";

export interface Segment {
  offset: number;
  length: number;
  kind: SegmentKind;
}

/** Share of the disk per kind: mostly real data, so a diff has real reading to do. */
const KIND_SHARES: ReadonlyArray<readonly [SegmentKind, number]> = [
  ["data", 0.85],
  ["pattern", 0.07],
  ["zero", 0.05],
  ["unallocated", 0.03],
];
const MIN_SEGMENT = 256 * 1024;
const MAX_SEGMENT = 8 * 1024 * 1024;
const WRITE_CHUNK = 8 * 1024 * 1024;

/**
 * Cuts the disk into segments of 256 KiB – 8 MiB (64 KiB aligned). Each segment's kind is drawn with weights
 * equal to how far each kind is behind its share so far, so the mix is random in order but close to the
 * shares at any size (a 256 MiB disk still gets every kind).
 */
export function planLayout(sizeBytes: number, seed: string | number): Segment[] {
  const random = new SeededRandom(`${seed}:layout`);
  const have = new Map<SegmentKind, number>(KIND_SHARES.map(([kind]) => [kind, 0]));
  const segments: Segment[] = [];
  for (let offset = 0; offset < sizeBytes;) {
    const units = MIN_SEGMENT / CHANGE_BLOCK_SIZE + random.below((MAX_SEGMENT - MIN_SEGMENT) / CHANGE_BLOCK_SIZE + 1);
    const length = Math.min(units * CHANGE_BLOCK_SIZE, sizeBytes - offset);
    const deficits = KIND_SHARES.map(([kind, share]) => Math.max(0, share * (offset + length) - (have.get(kind) ?? 0)));
    const total = deficits.reduce((a, b) => a + b, 0);
    let pick = random.next() * total;
    let kind: SegmentKind = "data";
    for (const [index, [candidate]] of KIND_SHARES.entries()) {
      const deficit = deficits[index] ?? 0;
      if (pick < deficit) {
        kind = candidate;
        break;
      }
      pick -= deficit;
    }
    segments.push({ offset, length, kind });
    have.set(kind, (have.get(kind) ?? 0) + length);
    offset += length;
  }
  return segments;
}

export function layoutBytes(segments: readonly Segment[]): Record<SegmentKind, number> {
  const out: Record<SegmentKind, number> = { data: 0, pattern: 0, zero: 0, unallocated: 0 };
  for (const s of segments) out[s.kind] += s.length;
  return out;
}

/** Content of a pattern segment: alternately one random 4 KiB block repeated, or a non-zero fill byte. */
function patternSegment(length: number, index: number, random: RandomBytes): Buffer {
  if (index % 2 === 0) {
    const unit = random.next(4096);
    const out = Buffer.allocUnsafe(length);
    for (let at = 0; at < length; at += unit.length) unit.copy(out, at);
    return out;
  }
  return Buffer.alloc(length, 1 + ((random.next(1)[0] ?? 0x5a) % 255));
}

/** Data and pattern segments written; zero and unallocated ones left as holes of a sparse file. */
export async function writeRawContent(
  file: string,
  sizeBytes: number,
  segments: readonly Segment[],
  seed: string | number,
): Promise<void> {
  const random = new RandomBytes(`${seed}:content`);
  const handle = await open(file, "w");
  try {
    let patterns = 0;
    for (const segment of segments) {
      if (segment.kind === "zero" || segment.kind === "unallocated") continue;
      const fill = segment.kind === "pattern" ? patternSegment(segment.length, patterns++, random) : null;
      for (let at = 0; at < segment.length; at += WRITE_CHUNK) {
        const length = Math.min(WRITE_CHUNK, segment.length - at);
        const chunk = fill ? fill.subarray(at, at + length) : random.next(length);
        await handle.write(chunk, 0, length, segment.offset + at);
      }
    }
    await handle.truncate(sizeBytes);
  } finally {
    await handle.close();
  }
}

/** `percent` % of the disk's 64 KiB blocks, distinct, at seeded random positions (ascending block numbers). */
export function pickChangedBlocks(sizeBytes: number, percent: number, seed: string | number): number[] {
  const blocks = Math.floor(sizeBytes / CHANGE_BLOCK_SIZE);
  const count = Math.min(blocks, Math.round((blocks * percent) / 100));
  return new SeededRandom(`${seed}:changes`).sample(blocks, count);
}

export interface BenchDisks {
  dir: string;
  sizeBytes: number;
  segments: Segment[];
  changedBlocks: number[];
  changedBytes: number;
  source: { qcow2: string; raw: string };
  target: { qcow2: string; raw: string };
  bitmap: string;
}

/** Sparse-aware copy: holes stay holes, so raw copies read the same way as their originals. */
export async function copySparse(from: string, to: string): Promise<void> {
  await run("cp", ["--sparse=always", from, to]);
}

/**
 * Builds target and source. The changes go into source.qcow2 through the product's own write path (a writable
 * NBD export of the image), so the persistent bitmap records them exactly as it records a VM's writes; the same
 * bytes are written into source.raw.
 */
export async function buildBenchDisks(options: {
  dir: string;
  sizeBytes: number;
  changePercent: number;
  seed: string | number;
}): Promise<BenchDisks> {
  const { dir, sizeBytes, changePercent, seed } = options;
  if (sizeBytes % CHANGE_BLOCK_SIZE !== 0) throw new Error(`disk size must be a multiple of 64 KiB (got ${sizeBytes})`);
  const files = {
    source: { qcow2: path.join(dir, "source.qcow2"), raw: path.join(dir, "source.raw") },
    target: { qcow2: path.join(dir, "target.qcow2"), raw: path.join(dir, "target.raw") },
  };
  const segments = planLayout(sizeBytes, seed);
  await writeRawContent(files.target.raw, sizeBytes, segments, seed);
  await qcow2FromRaw(files.target.raw, files.target.qcow2);
  await zeroQcow2Regions(
    files.target.qcow2,
    segments.filter((s) => s.kind === "zero"),
  );
  await copySparse(files.target.qcow2, files.source.qcow2);
  await copySparse(files.target.raw, files.source.raw);
  await ensurePersistentBitmap(files.source.qcow2, BENCH_BITMAP, CHANGE_BLOCK_SIZE);

  const changedBlocks = pickChangedBlocks(sizeBytes, changePercent, seed);
  await applyChanges(dir, files.source, changedBlocks, seed);
  return {
    dir,
    sizeBytes,
    segments,
    changedBlocks,
    changedBytes: changedBlocks.length * CHANGE_BLOCK_SIZE,
    ...files,
    bitmap: BENCH_BITMAP,
  };
}

async function applyChanges(
  dir: string,
  source: { qcow2: string; raw: string },
  blocks: readonly number[],
  seed: string | number,
): Promise<void> {
  const random = new RandomBytes(`${seed}:changed-data`);
  const disk = await openChainForWrite({ files: [source.qcow2], runDir: dir, exportName: "bench-change" });
  const raw = await open(source.raw, "r+");
  try {
    const BATCH = 64;
    for (let i = 0; i < blocks.length; i += BATCH) {
      const batch = blocks.slice(i, i + BATCH);
      const data = random.next(batch.length * CHANGE_BLOCK_SIZE);
      await Promise.all(
        batch.map(async (block, j) => {
          const bytes = data.subarray(j * CHANGE_BLOCK_SIZE, (j + 1) * CHANGE_BLOCK_SIZE);
          const offset = block * CHANGE_BLOCK_SIZE;
          await disk.write(offset, bytes);
          await raw.write(bytes, 0, bytes.length, offset);
        }),
      );
    }
    await disk.flush();
  } finally {
    await raw.close();
    // A clean stop stores the bitmap (and clears its in-use flag).
    await disk.close();
  }
}
