import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256File } from "@/lib/providers/chain-export/testing/images";
import type { DiskHandle, Region } from "@/lib/providers/types";
import { normalizeRegions } from "@/lib/dataplane/regions";
import { type SyncProgress, type SyncResult, syncDisk, verifyDisk } from "./index";
import {
  BLOCK,
  DiskLab,
  type DiskPair,
  MiB,
  RecordingDisk,
  bytesOf,
  fillNoise,
  layerExtents,
  makePair,
  noise,
  seededRandom,
  touches,
} from "./testing/disks";

const SIZE = 32 * MiB;
const RANGE = 4 * MiB;
/** The common content: data over the first 24 MiB, the rest never written (zero on both sides). */
const DATA_END = 24 * MiB;
let lab: DiskLab;
/** An image with the common content, made once and copied for each pair. */
let common: string;

beforeAll(async () => {
  lab = await DiskLab.create("failback-dataplane-sync-");
  common = await lab.image("common", SIZE);
  await lab.writeInto([common], (disk) => fillNoise(disk, 0, DATA_END, 1));
});

afterAll(async () => {
  await lab.cleanup();
});

async function contentSha(disk: DiskHandle): Promise<string> {
  return createHash("sha256")
    .update(await disk.read(0, disk.sizeBytes))
    .digest("hex");
}

/** Blocks touched by the given byte regions (what a 64 KiB-granular diff must find changed). */
function blocksOf(regions: Region[]): Region[] {
  return normalizeRegions(
    regions.map((r) => {
      const start = Math.floor(r.offset / BLOCK) * BLOCK;
      return { offset: start, length: Math.ceil((r.offset + r.length) / BLOCK) * BLOCK - start };
    }),
  );
}

function distinctBlocks(random: () => number, count: number, from: number, to: number): number[] {
  const picked = new Set<number>();
  while (picked.size < count) picked.add(Math.floor(from / BLOCK + random() * ((to - from) / BLOCK)) * BLOCK);
  return [...picked].sort((a, b) => a - b);
}

/**
 * Each pattern writes its changes and returns the byte regions it changed in the source (data and zeroes) and in
 * the target base (production's own changes, which the sync must undo).
 */
interface Pattern {
  source: (disk: DiskHandle) => Promise<void>;
  target?: (disk: DiskHandle) => Promise<void>;
  sourceChanged: Region[];
  targetChanged: Region[];
}

function randomPattern(seed: number, count = 40): Pattern {
  const random = seededRandom(seed);
  // Some blocks rewritten whole, some changed by a single 1 KiB write somewhere inside.
  const blocks = distinctBlocks(random, count, 0, DATA_END);
  const changes = blocks.map((block, i) =>
    i % 2 === 0 ? { offset: block, length: BLOCK } : { offset: block + Math.floor(random() * 63) * 1024, length: 1024 },
  );
  return {
    source: async (disk) => {
      for (const [i, c] of changes.entries()) await disk.write(c.offset, noise(c.length, 1000 + i));
    },
    sourceChanged: changes,
    targetChanged: [],
  };
}

function clusteredPattern(): Pattern {
  // Runs of adjacent blocks, one straddling a 1 MiB read chunk and one straddling a 4 MiB checkpoint range.
  const runs = [
    { offset: MiB - 4 * BLOCK, length: 8 * BLOCK },
    { offset: 2 * RANGE - 6 * BLOCK, length: 12 * BLOCK },
    { offset: 17 * MiB, length: 32 * BLOCK },
  ];
  return {
    source: async (disk) => {
      for (const [i, r] of runs.entries()) await disk.write(r.offset, noise(r.length, 2000 + i));
    },
    sourceChanged: runs,
    targetChanged: [],
  };
}

function sparsePattern(): Pattern {
  const scattered = [3 * MiB + 5 * BLOCK, 11 * MiB, 20 * MiB + 9 * BLOCK];
  // Source data where both sides were zero: read on the source only (the target's map says zero).
  const intoHole = { offset: 28 * MiB + 3 * BLOCK, length: 2 * BLOCK };
  // Source zeroed where the target keeps data: a zero command, no data bytes.
  const zeroed = { offset: 6 * MiB, length: 4 * BLOCK };
  // Production's own change, which the failback must overwrite with the replica's content.
  const productionOnly = { offset: 14 * MiB + 2 * BLOCK, length: BLOCK };
  return {
    source: async (disk) => {
      for (const [i, b] of scattered.entries()) await disk.write(b, noise(BLOCK, 3000 + i));
      await disk.write(intoHole.offset, noise(intoHole.length, 3100));
      await disk.writeZeroes(zeroed.offset, zeroed.length);
    },
    target: async (disk) => {
      await disk.write(productionOnly.offset, noise(productionOnly.length, 3200));
    },
    sourceChanged: [...scattered.map((offset) => ({ offset, length: BLOCK })), intoHole, zeroed],
    targetChanged: [productionOnly],
  };
}

async function pairFor(name: string, pattern: Pattern): Promise<DiskPair> {
  return makePair(lab, name, SIZE, { common, source: pattern.source, target: pattern.target });
}

/** What every successful sync must leave behind: equal content, base untouched, writes only where changed. */
async function expectSynced(pair: DiskPair, changedBlocks: Region[]): Promise<void> {
  expect(await contentSha(pair.target)).toBe(await contentSha(pair.source));
  const verified = await verifyDisk(pair.source, pair.target);
  expect(verified.ok).toBe(true);
  expect(verified.targetDigest).toBe(verified.sourceDigest);
  expect(sha256File(pair.targetBase)).toBe(pair.targetBaseSha);
  for (const extent of await layerExtents(pair.targetOverlay)) {
    expect(
      changedBlocks.some((b) => b.offset <= extent.offset && extent.offset + extent.length <= b.offset + b.length),
    ).toBe(true);
  }
}

/** The budget: data within 1 % of the changed bytes, plus digests and framing. */
function expectSentWithinBudget(result: SyncResult, changedBytes: number): void {
  const digests = 8 * (SIZE / BLOCK);
  const framing = 32 * (changedBytes / BLOCK) + 16 * 2 * 64;
  expect(result.bytesSent).toBeLessThanOrEqual(1.01 * changedBytes + digests + framing);
  expect(result.bytesSent).toBeLessThanOrEqual(1.01 * changedBytes + 0.0005 * SIZE);
}

describe("syncDisk: full diff + transfer", () => {
  const patterns: Array<[string, () => Pattern]> = [
    ["random", () => randomPattern(7)],
    ["clustered", clusteredPattern],
    ["sparse", sparsePattern],
  ];

  for (const [name, makePattern] of patterns) {
    it(`makes the target equal the source for ${name} changes, sending ≈ the changed bytes`, async () => {
      const pattern = makePattern();
      const pair = await pairFor(name, pattern);
      const changedBlocks = blocksOf([...pattern.sourceChanged, ...pattern.targetChanged]);
      const changedBytes = bytesOf(changedBlocks);

      const result = await syncDisk({ source: pair.source, target: pair.target, rangeBytes: RANGE });

      expect(result.bytesChanged).toBe(changedBytes);
      expect(result.blocksChanged).toBe(changedBytes / BLOCK);
      expect(result.bytesScanned).toBe(SIZE);
      expect(result.rangesDone).toBe(SIZE / RANGE);
      expect(result.bytesWritten + result.bytesZeroed).toBe(changedBytes);
      expectSentWithinBudget(result, changedBytes);
      await expectSynced(pair, changedBlocks);

      // A second pass over the now-equal disks finds nothing: only digests and maps cross.
      const again = await syncDisk({ source: pair.source, target: pair.target, rangeBytes: RANGE });
      expect(again).toMatchObject({ bytesChanged: 0, bytesWritten: 0, zeroCommands: 0 });
      expect(again.bytesSent).toBeLessThanOrEqual(8 * (SIZE / BLOCK) + 16 * 2 * 64);
    });
  }

  it("reads nothing where both sides are zero, and zeroes by command where only the source is", async () => {
    const zeroed = { offset: 2 * MiB, length: MiB };
    const pair = await makePair(lab, "zeroes", SIZE, {
      // Data in [0, 8) and [16, 24) MiB; [8, 16) and [24, 32) never written on either side.
      common: async (disk) => {
        await fillNoise(disk, 0, 8 * MiB, 11);
        await fillNoise(disk, 16 * MiB, 8 * MiB, 12);
      },
      source: (disk) => disk.writeZeroes(zeroed.offset, zeroed.length),
    });
    const source = new RecordingDisk(pair.source);
    const target = new RecordingDisk(pair.target);

    const result = await syncDisk({ source, target, rangeBytes: RANGE });

    expect(target.io.zeroes).toEqual([zeroed]);
    expect(target.io.writes).toEqual([]);
    expect(result).toMatchObject({
      bytesWritten: 0,
      zeroCommands: 1,
      bytesZeroed: MiB,
      bytesChanged: MiB,
      zeroBytesSkipped: 16 * MiB,
    });
    // Framing only: one digest per block both sides hold data in (15 MiB), one zero command, the maps.
    const digests = 8 * ((15 * MiB) / BLOCK);
    expect(result.bytesSent).toBeGreaterThanOrEqual(digests + 32);
    expect(result.bytesSent).toBeLessThanOrEqual(digests + 32 + 16 * 2 * 16);
    for (const hole of [
      { offset: 8 * MiB, length: 8 * MiB },
      { offset: 24 * MiB, length: 8 * MiB },
    ]) {
      expect(touches(source.io.reads, hole)).toBe(false);
      expect(touches(target.io.reads, hole)).toBe(false);
    }
    // Neither side read the zeroed megabyte either: the source's map says zero, and so does the target's after.
    expect(touches(source.io.reads, zeroed)).toBe(false);
    expect(touches(target.io.reads, zeroed)).toBe(false);
    expect(result.sourceBytesRead).toBe(15 * MiB);
    expect(result.targetBytesRead).toBe(15 * MiB);
    await expectSynced(pair, [zeroed]);
  });
});

describe("syncDisk: quick rollback (only the CBT regions)", () => {
  it("gives the same result as a full diff while reading only the given regions", async () => {
    const random = randomPattern(21, 16);
    const productionOnly = { offset: 9 * MiB, length: 2 * BLOCK };
    const pattern: Pattern = {
      source: random.source,
      target: (disk) => disk.write(productionOnly.offset, noise(productionOnly.length, 4000)),
      sourceChanged: random.sourceChanged,
      targetChanged: [productionOnly],
    };
    const pair = await pairFor("quick", pattern);
    // The replica's writes since failover, from its layer's own extents (as the provider's CBT reports them),
    // and production's changes since the restore point (its dirty bitmap; here known by construction).
    const regions = normalizeRegions([...(await layerExtents(pair.sourceFiles[1] as string)), productionOnly]);
    const regionBytes = bytesOf(regions);
    const changedBlocks = blocksOf([...pattern.sourceChanged, productionOnly]);
    const source = new RecordingDisk(pair.source);
    const target = new RecordingDisk(pair.target);

    const result = await syncDisk({ source, target, regions, rangeBytes: RANGE });

    expect(result.bytesScanned).toBe(regionBytes);
    expect(result.bytesChanged).toBe(bytesOf(changedBlocks));
    expect(result.sourceBytesRead).toBe(regionBytes);
    // The target reads the regions once to compare, then the written blocks once more to read them back.
    expect(result.targetBytesRead).toBe(regionBytes + result.bytesWritten);
    expect(result.sourceBytesRead).toBeLessThan(SIZE / 16);
    for (const read of [...source.io.reads, ...target.io.reads]) {
      expect(regions.some((r) => r.offset <= read.offset && read.offset + read.length <= r.offset + r.length)).toBe(
        true,
      );
    }
    expectSentWithinBudget(result, bytesOf(changedBlocks));
    await expectSynced(pair, changedBlocks);
  });
});

describe("syncDisk: progress and refusals", () => {
  it("reports progress at least once a second and a final report at 100 %", async () => {
    const pair = await pairFor("progress", randomPattern(5));
    // A slow source: ≈ 1.4 s in all, so the timer must report in between.
    const slow = new RecordingDisk(pair.source, { readDelayMs: 100 });
    const reports: Array<SyncProgress & { at: number }> = [];
    const started = Date.now();
    const result = await syncDisk({
      source: slow,
      target: pair.target,
      regions: [{ offset: 0, length: 14 * MiB }],
      concurrency: 1,
      onProgress: (p) => reports.push({ ...p, at: Date.now() }),
    });
    const times = [started, ...reports.map((r) => r.at)];
    for (let i = 1; i < times.length; i++) expect((times[i] as number) - (times[i - 1] as number)).toBeLessThan(1_000);
    expect(
      reports.some(
        (r) =>
          r.phase === "transfer" &&
          r.bytesScanned > 0 &&
          r.bytesScanned < r.bytesToScan &&
          r.rateBytesPerSec > 0 &&
          r.etaSeconds !== null,
      ),
    ).toBe(true);
    expect(reports.at(-1)).toMatchObject({
      phase: "transfer",
      bytesScanned: 14 * MiB,
      bytesToScan: 14 * MiB,
      etaSeconds: 0,
      bytesChanged: result.bytesChanged,
      bytesSent: result.bytesSent,
    });
    for (let i = 1; i < reports.length; i++)
      expect((reports[i] as SyncProgress).bytesScanned).toBeGreaterThanOrEqual(
        (reports[i - 1] as SyncProgress).bytesScanned,
      );
  });

  it("refuses disks of different sizes, a read-only target and a checkpoint of another geometry", async () => {
    const small = await lab.image("small", 16 * MiB);
    const large = await lab.image("large", SIZE);
    const smallView = await lab.openRead([small]);
    const largeView = await lab.openRead([large]);
    const largeWritable = await lab.openWrite([await lab.image("large-work", SIZE, large)]);
    await expect(syncDisk({ source: smallView, target: largeWritable })).rejects.toThrow(
      /differ in size \(source 16777216 bytes, target 33554432 bytes\)/,
    );
    await expect(syncDisk({ source: largeWritable, target: largeView })).rejects.toThrow(/read-only/);
    const checkpoint = {
      version: 1 as const,
      blockSize: BLOCK,
      rangeBytes: RANGE,
      nextOffset: RANGE,
      bytesChanged: 0,
      bytesSent: 0,
    };
    await expect(syncDisk({ source: largeView, target: largeWritable, checkpoint, blockSize: 4096 })).rejects.toThrow(
      /checkpoint was made with block size 65536/,
    );
    await expect(
      syncDisk({ source: largeView, target: largeWritable, checkpoint: { ...checkpoint, nextOffset: RANGE + BLOCK } }),
    ).rejects.toThrow(/not a range boundary/);
    await expect(syncDisk({ source: largeView, target: largeWritable, blockSize: 1000 })).rejects.toThrow(
      /multiple of 512/,
    );
  });
});
