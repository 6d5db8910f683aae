// The planner alone (no disks): what each block of a range needs, from the two allocation maps.
import { describe, expect, it } from "vitest";
import { alignToBlocks, checkpointRanges } from "./block-geometry";
import { rangePlanner, workUnits } from "./range-plan";
import { RegionWindows } from "./region-windows";

const K = 1024;
const B = 64 * K;

describe("RegionWindows", () => {
  it("cuts a sorted list into successive windows, splitting regions that straddle a boundary", () => {
    const windows = new RegionWindows([
      { offset: 0, length: 10 },
      { offset: 15, length: 20 },
      { offset: 50, length: 5 },
    ]);
    expect(windows.take({ offset: 0, length: 20 })).toEqual([
      { offset: 0, length: 10 },
      { offset: 15, length: 5 },
    ]);
    expect(windows.take({ offset: 20, length: 20 })).toEqual([{ offset: 20, length: 15 }]);
    expect(windows.take({ offset: 40, length: 10 })).toEqual([]);
    expect(windows.take({ offset: 50, length: 100 })).toEqual([{ offset: 50, length: 5 }]);
  });
});

describe("alignToBlocks and checkpointRanges", () => {
  it("grows regions to whole blocks, joins what then touches, and clips at a short last block", () => {
    expect(
      alignToBlocks(
        [
          { offset: B + 1, length: 10 },
          { offset: 2 * B + 5, length: 1 },
          { offset: 10 * B - 1, length: 9 * B },
        ],
        B,
        10 * B + 512,
      ),
    ).toEqual([
      { offset: B, length: 2 * B },
      { offset: 9 * B, length: B + 512 },
    ]);
    expect([...checkpointRanges(4 * B, 10 * B + 512, 4 * B)]).toEqual([
      { offset: 4 * B, length: 4 * B },
      { offset: 8 * B, length: 2 * B + 512 },
    ]);
  });
});

describe("rangePlanner", () => {
  it("reads source data, zeroes by command where only the target has data, skips what is zero on both", () => {
    // Blocks 0-3: source data; 2-5: target data; 6-7: neither.
    const planner = rangePlanner({
      wanted: [{ offset: 0, length: 8 * B }],
      sourceData: [{ offset: 0, length: 4 * B }],
      targetData: [{ offset: 2 * B, length: 4 * B }],
      chunkBytes: 2 * B,
    });
    const plan = planner.plan({ offset: 0, length: 8 * B });
    expect(plan.chunks).toEqual([
      { offset: 0, length: 2 * B, targetReads: [] },
      { offset: 2 * B, length: 2 * B, targetReads: [{ offset: 2 * B, length: 2 * B }] },
    ]);
    expect(plan.zeroRegions).toEqual([{ offset: 4 * B, length: 2 * B }]);
    expect(plan.skippedBytes).toBe(2 * B);
    expect(plan.wantedBytes).toBe(8 * B);
  });

  it("plans only the wanted regions, range by range", () => {
    const planner = rangePlanner({
      wanted: [
        { offset: B, length: B },
        { offset: 5 * B, length: 2 * B },
      ],
      sourceData: [{ offset: 0, length: 8 * B }],
      targetData: [{ offset: 0, length: 8 * B }],
      chunkBytes: 16 * B,
    });
    const first = planner.plan({ offset: 0, length: 4 * B });
    const second = planner.plan({ offset: 4 * B, length: 4 * B });
    expect(first.chunks).toEqual([{ offset: B, length: B, targetReads: [{ offset: B, length: B }] }]);
    expect(second.chunks).toEqual([{ offset: 5 * B, length: 2 * B, targetReads: [{ offset: 5 * B, length: 2 * B }] }]);
    expect(first.wantedBytes + second.wantedBytes).toBe(3 * B);
    expect(first.skippedBytes + second.skippedBytes).toBe(0);
  });
});

describe("workUnits", () => {
  const RANGE = 16 * B;
  const disk = 8 * RANGE;
  const units = (wanted: { offset: number; length: number }[]) => {
    const planner = rangePlanner({
      wanted,
      sourceData: [{ offset: 0, length: disk }],
      targetData: [{ offset: 0, length: disk }],
      chunkBytes: 4 * B,
    });
    return [...workUnits(planner, checkpointRanges(0, disk, RANGE), RANGE)];
  };

  it("keeps one unit per range when every range is full of wanted bytes (a whole-disk diff)", () => {
    const all = units([{ offset: 0, length: disk }]);
    expect(all.map((u) => u.range)).toEqual([...checkpointRanges(0, disk, RANGE)]);
  });

  it("gathers sparse ranges until they hold a range's worth of wanted bytes, ending on range boundaries", () => {
    // Six blocks in each of the eight ranges: two ranges' worth (12) fit in one unit, a third would not (18 > 16).
    const scattered = Array.from({ length: 8 }, (_, r) =>
      Array.from({ length: 6 }, (_, b) => ({ offset: r * RANGE + b * 2 * B, length: B })),
    ).flat();
    const all = units(scattered);
    expect(all.map((u) => u.range)).toEqual([0, 2, 4, 6].map((r) => ({ offset: r * RANGE, length: 2 * RANGE })));
    expect(all.every((u) => u.wantedBytes === 12 * B)).toBe(true);
    expect(all.flatMap((u) => u.chunks).reduce((n, c) => n + c.length, 0)).toBe(48 * B);
  });

  it("skips ranges with nothing wanted: the unit after them covers them", () => {
    const all = units([
      { offset: B, length: B },
      { offset: 5 * RANGE, length: B },
    ]);
    expect(all.map((u) => u.range)).toEqual([{ offset: 0, length: 6 * RANGE }]);
    expect(all[0]?.chunks.map((c) => c.offset)).toEqual([B, 5 * RANGE]);
  });
});
