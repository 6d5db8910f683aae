/**
 * The client against a real qemu-storage-daemon. Reads are checked against `qemu-img convert`
 * of the same image and block status against nbdinfo (libnbd), so every assertion has an
 * independent reference rather than our own idea of the protocol.
 *
 * Tests run in file order: the read-only checks come first, against the image as built;
 * later tests write through NBD.
 */
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Extent, NbdClient, NbdError, coalesceExtents, dirtyBitmapContext, isDirty, isHole } from "./index";
import {
  type RunningDaemon,
  createQcow2,
  freeTcpPort,
  imageAsRaw,
  makeTempDir,
  nbdinfoMap,
  removeDir,
  startStorageDaemon,
} from "./testing/qemu";

const KiB = 1024;
const MiB = 1024 * KiB;
const DISK_SIZE = 64 * MiB;
const BITMAP = "cbt";
const CBT = dirtyBitmapContext(BITMAP);

/** Writes made with qemu-io before the daemon starts, with the bitmap already enabled. */
const PRE_WRITES: ReadonlyArray<{ cmd: string; offset: number; length: number }> = [
  { cmd: "write -P 0xab 1M 64k", offset: 1 * MiB, length: 64 * KiB },
  { cmd: "write -P 0xcd 3M 100k", offset: 3 * MiB, length: 100 * KiB },
  { cmd: "write -P 0x11 8188k 8k", offset: 8188 * KiB, length: 8 * KiB }, // straddles the 8 MiB granule boundary
  { cmd: "write -P 0x5a 20M 12M", offset: 20 * MiB, length: 12 * MiB },
  { cmd: "write -P 0x77 40M 4k", offset: 40 * MiB, length: 4 * KiB },
];

/** What a 64 KiB-granularity dirty bitmap must report for a set of writes. */
function expectedDirty(
  writes: ReadonlyArray<{ offset: number; length: number }>,
): Array<{ offset: number; length: number }> {
  const g = 64 * KiB;
  const granules = [...writes]
    .map((w) => ({
      offset: Math.floor(w.offset / g) * g,
      length: Math.ceil((w.offset + w.length) / g) * g - Math.floor(w.offset / g) * g,
    }))
    .sort((a, b) => a.offset - b.offset);
  const merged: Array<{ offset: number; length: number }> = [];
  for (const r of granules) {
    const last = merged[merged.length - 1];
    if (last && last.offset + last.length >= r.offset)
      last.length = Math.max(last.length, r.offset + r.length - last.offset);
    else merged.push({ ...r });
  }
  return merged;
}

function dirtyRanges(extents: readonly Extent[]): Array<{ offset: number; length: number }> {
  return extents.filter(isDirty).map(({ offset, length }) => ({ offset, length }));
}

/** Extents must tile [start, start+length) with no gap or overlap. */
function expectContiguous(extents: readonly Extent[], start: number, length: number): void {
  let pos = start;
  for (const e of extents) {
    expect(e.offset).toBe(pos);
    expect(e.length).toBeGreaterThan(0);
    pos += e.length;
  }
  expect(pos).toBe(start + length);
}

let dir: string;
let image: string;
let daemon: RunningDaemon;
let client: NbdClient;
/** The image's bytes before any NBD write. */
let original: Buffer;

beforeAll(async () => {
  dir = await makeTempDir();
  image = path.join(dir, "disk.qcow2");
  await createQcow2(image, { sizeBytes: DISK_SIZE, bitmaps: [BITMAP], writes: PRE_WRITES.map((w) => w.cmd) });
  daemon = await startStorageDaemon({ image, exportName: "d0", writable: true, bitmaps: [BITMAP] });
  await imageAsRaw(image, path.join(dir, "original.raw"));
  original = await readFile(path.join(dir, "original.raw"));
  client = await NbdClient.connect({
    socketPath: daemon.socketPath as string,
    exportName: "d0",
    metaContexts: ["base:allocation", CBT],
  });
});

afterAll(async () => {
  if (client) await client.close().catch(() => {});
  if (daemon) await daemon.stop();
  if (dir) await removeDir(dir);
});

describe("NbdClient against qemu-storage-daemon", () => {
  it("negotiates the export: size, flags, block sizes, meta contexts", () => {
    expect(client.size).toBe(DISK_SIZE);
    expect(client.exportName).toBe("d0");
    expect(client.readOnly).toBe(false);
    expect(client.canFlush).toBe(true);
    expect(client.canFua).toBe(true);
    expect(client.canWriteZeroes).toBe(true);
    expect(client.structuredReplies).toBe(true);
    expect(client.blockSize.maximum).toBe(32 * MiB);
    expect([...client.metaContexts.keys()].sort()).toEqual(["base:allocation", CBT].sort());
  });

  it("reads data, and holes as zeroes", async () => {
    const around = await client.read(1 * MiB - 4 * KiB, 72 * KiB);
    expect(around.equals(original.subarray(1 * MiB - 4 * KiB, 1 * MiB + 68 * KiB))).toBe(true);
    expect(around.subarray(0, 4 * KiB).every((b) => b === 0)).toBe(true);
    expect(around.subarray(4 * KiB, 68 * KiB).every((b) => b === 0xab)).toBe(true);

    // Never written: the server answers with hole chunks, which must become real zeroes.
    const hole = await client.read(50 * MiB, 2 * MiB);
    expect(hole.length).toBe(2 * MiB);
    expect(hole.every((b) => b === 0)).toBe(true);

    expect((await client.read(0, 0)).length).toBe(0);
  });

  it("splits a read larger than the maximum block size and reassembles it", async () => {
    // 48 MiB > 32 MiB maximum; spans holes and the 12 MiB 0x5a region.
    const big = await client.read(8 * MiB, 48 * MiB);
    expect(big.equals(original.subarray(8 * MiB, 56 * MiB))).toBe(true);
  });

  it("keeps 200 reads in flight at once and matches every reply to its request", async () => {
    const c = await NbdClient.connect({ socketPath: daemon.socketPath as string, exportName: "d0", maxInFlight: 256 });
    try {
      const ranges = Array.from({ length: 200 }, (_, i) => {
        // Deterministic spread over data and holes, sizes 4 KiB .. 128 KiB.
        const length = (1 + ((i * 7) % 32)) * 4 * KiB;
        const offset = Math.min(((i * 2654435761) % (DISK_SIZE / (4 * KiB))) * 4 * KiB, DISK_SIZE - length);
        return { offset, length };
      });
      const reads = ranges.map((r) => c.read(r.offset, r.length));
      expect(c.pending).toBe(200);
      const results = await Promise.all(reads);
      results.forEach((buf, i) => {
        const r = ranges[i]!;
        expect(buf.equals(original.subarray(r.offset, r.offset + r.length)), `read #${i} at ${r.offset}`).toBe(true);
      });
      expect(c.pending).toBe(0);
    } finally {
      await c.close();
    }
  });

  it("reports base:allocation exactly as nbdinfo --map does", async () => {
    const ours = await client.blockStatus(0, DISK_SIZE, "base:allocation");
    expectContiguous(ours, 0, DISK_SIZE);
    const theirs = coalesceExtents(
      (await nbdinfoMap(daemon.uri)).map((e) => ({ offset: e.offset, length: e.length, flags: e.type })),
    );
    expect(ours).toEqual(theirs);

    // And the data extents really are where qemu-io wrote.
    const data = ours.filter((e) => !isHole(e));
    for (const w of PRE_WRITES) {
      expect(
        data.some((e) => e.offset <= w.offset && e.offset + e.length >= w.offset + w.length),
        w.cmd,
      ).toBe(true);
    }
  });

  it("answers block status for a sub-range, clipped to it", async () => {
    const part = await client.blockStatus(1 * MiB + 32 * KiB, 1 * MiB);
    expectContiguous(part, 1 * MiB + 32 * KiB, 1 * MiB);
    expect(part[0]).toEqual({ offset: 1 * MiB + 32 * KiB, length: 32 * KiB, flags: 0 });
  });

  it("reports the dirty bitmap: exactly the 64 KiB granules qemu-io wrote", async () => {
    const extents = await client.blockStatus(0, DISK_SIZE, CBT);
    expectContiguous(extents, 0, DISK_SIZE);
    expect(dirtyRanges(extents)).toEqual(expectedDirty(PRE_WRITES));

    const theirs = coalesceExtents(
      (await nbdinfoMap(daemon.uri, CBT)).map((e) => ({ offset: e.offset, length: e.length, flags: e.type })),
    );
    expect(extents).toEqual(theirs);
  });

  it("writes (with FUA) and reads back; qemu-img sees the same bytes", async () => {
    const data = randomBytes(300 * KiB);
    const offset = 12 * MiB + 512;
    await client.write(offset, data, { fua: true });
    expect((await client.read(offset, data.length)).equals(data)).toBe(true);

    await client.flush();
    const raw = path.join(dir, "after-write.raw");
    await imageAsRaw(image, raw);
    const onDisk = await readFile(raw);
    expect(onDisk.subarray(offset, offset + data.length).equals(data)).toBe(true);
    // Neighbouring bytes untouched.
    expect(onDisk.subarray(offset - 512, offset).equals(original.subarray(offset - 512, offset))).toBe(true);
  });

  it("marks NBD writes in the enabled dirty bitmap", async () => {
    const extents = await client.blockStatus(0, DISK_SIZE, CBT);
    expect(dirtyRanges(extents)).toEqual(expectedDirty([...PRE_WRITES, { offset: 12 * MiB + 512, length: 300 * KiB }]));
  });

  it("splits a write larger than the maximum block size", async () => {
    const data = randomBytes(40 * MiB);
    await client.write(16 * MiB, data);
    await client.flush();
    expect((await client.read(16 * MiB, data.length)).equals(data)).toBe(true);
    const raw = path.join(dir, "after-big-write.raw");
    await imageAsRaw(image, raw);
    expect((await readFile(raw)).subarray(16 * MiB, 56 * MiB).equals(data)).toBe(true);
  });

  it("zeroes a range with WRITE_ZEROES", async () => {
    await client.writeZeroes(20 * MiB, 1 * MiB);
    const back = await client.read(20 * MiB - 4 * KiB, 1 * MiB + 8 * KiB);
    expect(back.subarray(4 * KiB, 4 * KiB + 1 * MiB).every((b) => b === 0)).toBe(true);
    expect(back.subarray(0, 4 * KiB).some((b) => b !== 0)).toBe(true); // random data before it survives
    const status = await client.blockStatus(20 * MiB, 1 * MiB);
    expect(status.every((e) => (e.flags & 2) !== 0)).toBe(true); // NBD_STATE_ZERO
  });

  it("rejects out-of-range and unnegotiated requests locally with typed errors", async () => {
    await expect(client.read(DISK_SIZE - 4096, 8192)).rejects.toMatchObject({ code: "EINVAL" });
    await expect(client.read(-1, 10)).rejects.toBeInstanceOf(NbdError);
    await expect(client.blockStatus(0, 4096, "qemu:dirty-bitmap:nope")).rejects.toMatchObject({ code: "ENOTSUP" });
  });
});

describe("NbdClient over TCP, read-only export", () => {
  let tcpDir: string;
  let tcpDaemon: RunningDaemon | undefined;

  beforeAll(async () => {
    tcpDir = await makeTempDir();
    const img = path.join(tcpDir, "ro.qcow2");
    await createQcow2(img, { sizeBytes: 4 * MiB, writes: ["write -P 0x42 0 128k"] });
    tcpDaemon = await startStorageDaemon({
      image: img,
      exportName: "ro",
      listen: { host: "127.0.0.1", port: await freeTcpPort() },
    });
  });

  afterAll(async () => {
    await tcpDaemon?.stop();
    if (tcpDir) await removeDir(tcpDir);
  });

  it("connects by host:port, reads, and refuses writes with EPERM", async () => {
    const port = Number(new URL(tcpDaemon!.uri).port);
    const c = await NbdClient.connect({ host: "127.0.0.1", port, exportName: "ro" });
    try {
      expect(c.size).toBe(4 * MiB);
      expect(c.readOnly).toBe(true);
      expect((await c.read(0, 128 * KiB)).every((b) => b === 0x42)).toBe(true);
      await expect(c.write(0, Buffer.alloc(512))).rejects.toMatchObject({ name: "NbdError", code: "EPERM" });
    } finally {
      await c.close();
    }
  });
});
