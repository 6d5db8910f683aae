// verifyDisk and diskDigest: strong per-block digests, content digests independent of allocation layout.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { diskDigest, syncDisk, verifyDisk } from "./index";
import { BLOCK, DiskLab, MiB, RecordingDisk, fillNoise, touches } from "./testing/disks";

const SIZE = 8 * MiB;
let lab: DiskLab;
/** Data in [0, 4) MiB, explicit zero bytes written in [4, 5) MiB, the rest never written. */
let withZeroData: string;

beforeAll(async () => {
  lab = await DiskLab.create("failback-dataplane-verify-");
  withZeroData = await lab.image("zero-data", SIZE);
  await lab.writeInto([withZeroData], async (disk) => {
    await fillNoise(disk, 0, 4 * MiB, 5);
    await disk.write(4 * MiB, Buffer.alloc(MiB));
  });
});

afterAll(async () => {
  await lab.cleanup();
});

describe("verifyDisk", () => {
  it("equal content gives equal content digests, whatever the layout; provably zero blocks are not read", async () => {
    // The same content, but [4, 5) MiB is a hole here instead of written zeroes.
    const holey = await lab.image("holey", SIZE);
    await lab.writeInto([holey], (disk) => fillNoise(disk, 0, 4 * MiB, 5));
    const a = new RecordingDisk(await lab.openRead([withZeroData]));
    const b = new RecordingDisk(await lab.openRead([holey]));

    const result = await verifyDisk(a, b);
    expect(result).toMatchObject({ ok: true, blockSize: BLOCK, mismatches: [] });
    expect(result.sourceDigest).toBe(result.targetDigest);
    expect(result.sourceDigest).toMatch(/^[0-9a-f]{64}$/);
    // a's written zeroes are data to its map (read), b's hole is not; nothing past 5 MiB is read on either side.
    expect(result.bytesRead).toBe(5 * MiB + 4 * MiB);
    expect(touches([...a.io.reads, ...b.io.reads], { offset: 5 * MiB, length: 3 * MiB })).toBe(false);

    const digest = await diskDigest(a);
    expect(digest.digest).toBe(result.sourceDigest);
    expect(digest.blockDigests).toHaveLength((SIZE / BLOCK) * 32);
  });

  it("finds a single changed byte and names its block", async () => {
    const changed = await lab.copy(withZeroData, "one-byte");
    const at = 3 * MiB + 12_345;
    await lab.writeInto([changed], async (disk) => {
      const byte = await disk.read(at, 1);
      await disk.write(at, Buffer.from([(byte[0] as number) ^ 0x01]));
    });
    const result = await verifyDisk(await lab.openRead([withZeroData]), await lab.openRead([changed]));
    expect(result.ok).toBe(false);
    expect(result.mismatches).toEqual([{ offset: Math.floor(at / BLOCK) * BLOCK, length: BLOCK }]);
    expect(result.sourceDigest).not.toBe(result.targetDigest);
  });

  it("handles a disk whose last block is short, in verify and in sync", async () => {
    const size = 4 * MiB + 4096;
    const source = await lab.image("short-source", size);
    await lab.writeInto([source], (disk) => fillNoise(disk, 0, size, 8));
    const base = await lab.image("short-target", size);
    await lab.writeInto([base], (disk) => fillNoise(disk, 0, size, 9));
    const sourceView = await lab.openRead([source]);
    const target = await lab.openWrite([base, await lab.image("short-work", size, base)]);

    const before = await verifyDisk(sourceView, target);
    expect(before.mismatches).toEqual([{ offset: 0, length: size }]);
    const result = await syncDisk({ source: sourceView, target, rangeBytes: MiB });
    expect(result.bytesChanged).toBe(size);
    expect(result.blocksChanged).toBe(65);
    const after = await verifyDisk(sourceView, target);
    expect(after.ok).toBe(true);
    expect(after.targetDigest).toBe(before.sourceDigest);
  });

  it("reports verify progress up to the whole disk", async () => {
    const view = await lab.openRead([withZeroData]);
    const reports: number[] = [];
    await verifyDisk(view, view, { onProgress: (p) => reports.push(p.bytesScanned), blockSize: 4096, concurrency: 2 });
    expect(reports.at(-1)).toBe(SIZE);
  });
});
