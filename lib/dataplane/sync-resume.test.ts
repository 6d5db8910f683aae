// Interrupted transfers and a target that corrupts what it stores: checkpoints are handed out only for ranges
// that were written and read back, and a resumed sync continues from the last one.
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DiskHandle } from "@/lib/providers/types";
import { ReadBackMismatchError, type SyncCheckpoint, syncDisk, verifyDisk } from "./index";
import {
  BLOCK,
  DiskLab,
  type DiskPair,
  MiB,
  RecordingDisk,
  bytesOf,
  fillNoise,
  makePair,
  noise,
  seededRandom,
} from "./testing/disks";

const SIZE = 32 * MiB;
const RANGE = 2 * MiB;
/** 64 changed blocks spread over the whole disk, so every range has some. */
const CHANGED_BLOCKS = 64;
let lab: DiskLab;
let common: string;
let changedOffsets: number[];

beforeAll(async () => {
  lab = await DiskLab.create("failback-dataplane-resume-");
  common = await lab.image("common", SIZE);
  await lab.writeInto([common], (disk) => fillNoise(disk, 0, SIZE, 1));
  const random = seededRandom(99);
  const picked = new Set<number>();
  for (let range = 0; range < SIZE / RANGE; range++) {
    while (picked.size < ((range + 1) * CHANGED_BLOCKS) / (SIZE / RANGE))
      picked.add(range * RANGE + Math.floor(random() * (RANGE / BLOCK)) * BLOCK);
  }
  changedOffsets = [...picked].sort((a, b) => a - b);
});

afterAll(async () => {
  await lab.cleanup();
});

function pair(name: string): Promise<DiskPair> {
  return makePair(lab, name, SIZE, {
    common,
    source: async (disk) => {
      for (const [i, offset] of changedOffsets.entries()) await disk.write(offset, noise(BLOCK, 500 + i));
    },
  });
}

async function expectEqual(source: DiskHandle, target: DiskHandle): Promise<void> {
  const sha = async (d: DiskHandle) =>
    createHash("sha256")
      .update(await d.read(0, SIZE))
      .digest("hex");
  expect(await sha(target)).toBe(await sha(source));
  expect((await verifyDisk(source, target)).ok).toBe(true);
}

const changedBytes = () => CHANGED_BLOCKS * BLOCK;

describe("interrupted and resumed", () => {
  it("an abort stops at a range boundary; resuming from the last checkpoint finishes without re-sending", async () => {
    const { source, target: inner } = await pair("abort");
    const target = new RecordingDisk(inner);
    const controller = new AbortController();
    const persisted: SyncCheckpoint[] = [];
    const first = syncDisk({
      source,
      target,
      rangeBytes: RANGE,
      signal: controller.signal,
      onCheckpoint: async (cp) => {
        persisted.push(cp);
        if (persisted.length === 3) controller.abort();
      },
    });
    await expect(first).rejects.toMatchObject({ name: "AbortError" });
    // Ranges already under way when the abort came still finish (and checkpoint); nothing new starts.
    expect(persisted.length).toBeGreaterThanOrEqual(3);
    expect(persisted.length).toBeLessThanOrEqual(4);
    expect(persisted.map((cp) => cp.nextOffset)).toEqual(persisted.map((_, i) => (i + 1) * RANGE));
    const last = persisted.at(-1) as SyncCheckpoint;
    // Nothing beyond the checkpointed ranges was written.
    expect(target.io.writes.every((w) => w.offset + w.length <= last.nextOffset)).toBe(true);

    const readsBefore = target.io.reads.length;
    const resumed = await syncDisk({
      source,
      target,
      rangeBytes: RANGE,
      checkpoint: last,
      onCheckpoint: async (cp) => void persisted.push(cp),
    });
    expect(resumed.resumedFrom).toBe(last.nextOffset);
    expect(resumed.rangesDone).toBe(SIZE / RANGE - last.nextOffset / RANGE);
    expect(target.io.reads.slice(readsBefore).every((r) => r.offset >= last.nextOffset)).toBe(true);
    // The counters carried over: the totals are those of one uninterrupted run.
    expect(resumed.bytesChanged).toBe(changedBytes());
    expect(persisted.at(-1)).toMatchObject({
      nextOffset: SIZE,
      bytesChanged: changedBytes(),
      bytesSent: resumed.bytesSent,
    });
    // Across both runs, each changed block was sent once.
    expect(bytesOf(target.io.writes)).toBe(changedBytes());
    await expectEqual(source, target);
  });

  it("a checkpoint that cannot be persisted stops the sync; the resumed run re-sends at most one range", async () => {
    const { source, target: inner } = await pair("persist-fails");
    const target = new RecordingDisk(inner);
    const persisted: SyncCheckpoint[] = [];
    const first = syncDisk({
      source,
      target,
      rangeBytes: RANGE,
      onCheckpoint: async (cp) => {
        if (persisted.length === 4) throw new Error("database unavailable");
        persisted.push(cp);
      },
    });
    await expect(first).rejects.toThrow("database unavailable");
    expect(persisted).toHaveLength(4);

    const resumed = await syncDisk({ source, target, rangeBytes: RANGE, checkpoint: persisted.at(-1) });
    expect(resumed.resumedFrom).toBe(4 * RANGE);
    const resent = bytesOf(target.io.writes) - changedBytes();
    expect(resent).toBeGreaterThanOrEqual(0);
    expect(resent).toBeLessThanOrEqual(RANGE);
    await expectEqual(source, target);
  });
});

describe("read-back", () => {
  const corruptOneBlock = (block: number, times: number) => {
    let left = times;
    return (offset: number, data: Buffer): Buffer => {
      if (left === 0 || block < offset || block >= offset + data.length) return data;
      left--;
      const copy = Buffer.from(data);
      copy[block - offset + 100] = (copy[block - offset + 100] as number) ^ 0xff;
      return copy;
    };
  };

  it("a target that corrupts a written block fails the sync naming the block; its range is not checkpointed", async () => {
    const { source, target: inner } = await pair("corrupt");
    const bad = changedOffsets.find((o) => o >= 5 * RANGE) as number;
    const target = new RecordingDisk(inner, { mangleWrite: corruptOneBlock(bad, Infinity) });
    const persisted: SyncCheckpoint[] = [];
    const error = await syncDisk({
      source,
      target,
      rangeBytes: RANGE,
      onCheckpoint: async (cp) => void persisted.push(cp),
    }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ReadBackMismatchError);
    expect((error as ReadBackMismatchError).region).toEqual({ offset: bad, length: BLOCK });
    expect((error as ReadBackMismatchError).message).toMatch(new RegExp(`at ${bad}\\+${BLOCK}`));
    // Written, read back wrong, rewritten once, read back wrong again.
    expect(target.io.writes.filter((w) => w.offset <= bad && bad < w.offset + w.length)).toHaveLength(2);
    const badRangeStart = Math.floor(bad / RANGE) * RANGE;
    expect(persisted.length).toBeGreaterThan(0);
    expect(persisted.every((cp) => cp.nextOffset <= badRangeStart)).toBe(true);
  });

  it("a corruption that a rewrite cures: the sync succeeds and the block was sent twice", async () => {
    const { source, target: inner } = await pair("corrupt-once");
    const bad = changedOffsets[7] as number;
    const target = new RecordingDisk(inner, { mangleWrite: corruptOneBlock(bad, 1) });
    const result = await syncDisk({ source, target, rangeBytes: RANGE });
    expect(result.bytesWritten).toBe(changedBytes() + BLOCK);
    expect(result.bytesChanged).toBe(changedBytes());
    await expectEqual(source, target);
  });
});
