// Direct reads (direct-reader.ts): the bytes a chain's files give by the chain's map must be exactly the bytes
// the storage daemon serves, whatever the layout — several layers, zeroes, holes, compressed clusters, and our
// own writes into the top layer — and the daemon must serve whatever the files cannot.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DiskHandle } from "../types";
import { chainImageSpec, mapChain } from "./chain-map";
import type { DirectReadDiskHandle } from "./direct-disk-handle";
import { openChainForRead, openChainForWrite } from "./disk-access";
import { clustersReadableAsIs } from "./qcow2-header";
import { storageDaemonPaths } from "./storage-daemon";
import { allocPageAlignedBuffer } from "@/lib/io/aligned-buffer";
import {
  KiB,
  MiB,
  createQcow2,
  daemonPidsFor,
  makeTempDir,
  rawImage,
  run,
  sha256,
  removeTestDir,
} from "./testing/images";

const SIZE = 8 * MiB;
let dir: string;
let runDir: string;
const handles: DiskHandle[] = [];
/** l0 ← l1 ← l2: data, overwrites, a zeroed range and holes, with a layer boundary inside most 1 MiB windows. */
let chain: string[];

async function open(handle: Promise<DiskHandle>): Promise<DirectReadDiskHandle> {
  const h = await handle;
  handles.push(h);
  return h as DirectReadDiskHandle;
}

/** Deterministic pseudo-random windows, mostly unaligned, some spanning several extents. */
function windows(count: number, maxLength: number): Array<{ offset: number; length: number }> {
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  return Array.from({ length: count }, () => {
    const length = 1 + (next() % maxLength);
    return { offset: next() % (SIZE - length), length };
  });
}

beforeAll(async () => {
  dir = await makeTempDir("failback-direct-read-");
  runDir = path.join(dir, "run");
  const l0 = await createQcow2(path.join(dir, "l0.qcow2"), {
    sizeBytes: SIZE,
    writes: ["write -P 0x11 0 3M", "write -P 0x12 4M 2M"],
  });
  const l1 = await createQcow2(path.join(dir, "l1.qcow2"), {
    sizeBytes: SIZE,
    backing: l0,
    writes: ["write -P 0x21 1M 512k", "write -z 4M 192k", "write -P 0x22 7M 64k"],
  });
  const l2 = await createQcow2(path.join(dir, "l2.qcow2"), {
    sizeBytes: SIZE,
    backing: l1,
    writes: ["write -P 0x31 1536k 64k", "write -P 0x32 2M 1M", "write -z 5M 64k"],
  });
  chain = [l0, l1, l2];
});

afterAll(async () => {
  await Promise.allSettled(handles.map((h) => h.close()));
  await removeTestDir(dir, runDir);
});

describe("the chain map", () => {
  it("covers the disk in order and names the layer holding each byte", async () => {
    const extents = await mapChain(chain);
    expect(extents[0]?.offset).toBe(0);
    for (let i = 1; i < extents.length; i++)
      expect(extents[i]?.offset).toBe((extents[i - 1]?.offset ?? 0) + (extents[i - 1]?.length ?? 0));
    const last = extents.at(-1);
    expect((last?.offset ?? 0) + (last?.length ?? 0)).toBe(SIZE);
    const at = (offset: number) => extents.find((e) => e.offset <= offset && offset < e.offset + e.length);
    expect(at(0)).toMatchObject({ where: "file", layer: 0 });
    expect(at(MiB)).toMatchObject({ where: "file", layer: 1 });
    expect(at(1536 * KiB)).toMatchObject({ where: "file", layer: 2 });
    expect(at(4 * MiB)).toMatchObject({ where: "zero" }); // zeroed in l1 over l0's data
    expect(at(3 * MiB)).toMatchObject({ where: "zero" }); // never written
  });

  it("stops at the chain it is given, not at the backing names recorded in the files", async () => {
    const belowTop = await mapChain(chain.slice(0, 2));
    expect(belowTop.every((e) => e.where !== "file" || e.layer <= 1)).toBe(true);
    expect(chainImageSpec(chain.slice(0, 1))).toContain('"backing":null');
  });
});

describe("direct reads of a read-only view", () => {
  it("give the daemon's bytes for the whole disk and for unaligned windows, without asking the daemon", async () => {
    const direct = await open(openChainForRead({ files: chain, runDir, exportName: "direct" }));
    const served = await open(openChainForRead({ files: chain, runDir, exportName: "served", directReads: false }));
    const expected = await rawImage(chain[2] as string);
    expect(sha256(await direct.read(0, SIZE))).toBe(sha256(expected));
    for (const { offset, length } of windows(200, 2 * MiB)) {
      const got = await direct.read(offset, length);
      expect(got.equals(expected.subarray(offset, offset + length)), `window at ${offset}+${length}`).toBe(true);
      expect(got.equals(await served.read(offset, length))).toBe(true);
    }
    const stats = direct.readStats();
    expect(stats.serverBytes).toBe(0);
    expect(stats.fileBytes).toBeGreaterThan(0);
    expect(stats.zeroBytes).toBeGreaterThan(0);
    expect(direct.unavailableReason).toBeUndefined();
  });

  it("leave compressed clusters to the daemon", async () => {
    const packed = path.join(dir, "packed.qcow2");
    await run("qemu-img", ["convert", "-c", "-O", "qcow2", chain[0] as string, packed]);
    const top = await createQcow2(path.join(dir, "over-packed.qcow2"), {
      sizeBytes: SIZE,
      backing: packed,
      writes: ["write -P 0x41 512k 1M"],
    });
    const handle = await open(openChainForRead({ files: [packed, top], runDir, exportName: "packed" }));
    expect(sha256(await handle.read(0, SIZE))).toBe(sha256(await rawImage(top)));
    const stats = handle.readStats();
    expect(stats.fileBytes).toBe(MiB); // top's own clusters
    expect(stats.serverBytes).toBe(5 * MiB - MiB); // l0's 5 MiB of data, less what top covers
  });

  it("stop with the daemon: once it is killed, reads fail with a transient error instead of going on alone", async () => {
    const handle = await open(openChainForRead({ files: chain, runDir, exportName: "killed" }));
    await handle.read(0, 4096);
    const [pid] = daemonPidsFor(storageDaemonPaths(runDir, "killed").pidFile);
    expect(pid).toBeDefined();
    process.kill(pid as number, "SIGKILL");
    await expect
      .poll(
        () =>
          handle.read(0, 4096).then(
            () => "read",
            (e: unknown) => e,
          ),
        { timeout: 2_000 },
      )
      .toMatchObject({ kind: "hypervisor", transient: true });
  });
});

describe("reads around the page cache (O_DIRECT)", () => {
  it("fill page-aligned buffers with the same bytes; other buffers are read through the cache", async () => {
    const handle = await open(openChainForRead({ files: chain, runDir, exportName: "uncached" }));
    const expected = await rawImage(chain[2] as string);
    const aligned = allocPageAlignedBuffer(SIZE);
    await handle.readInto?.(0, aligned);
    expect(sha256(aligned)).toBe(sha256(expected));
    const afterAligned = handle.readStats();
    // Every layer's extents here are 64 KiB multiples: all of the file bytes went around the cache.
    expect(afterAligned.uncachedBytes).toBeGreaterThan(0);
    expect(afterAligned.uncachedBytes).toBe(afterAligned.fileBytes);

    const unaligned = await handle.read(MiB + 512, 100 * KiB);
    expect(unaligned.equals(expected.subarray(MiB + 512, MiB + 512 + 100 * KiB))).toBe(true);
    const afterUnaligned = handle.readStats();
    expect(afterUnaligned.fileBytes).toBeGreaterThan(afterAligned.fileBytes);
    expect(afterUnaligned.uncachedBytes).toBe(afterAligned.uncachedBytes);
  });
});

describe("direct reads of a writable view", () => {
  it("see every write and zeroing made through the handle, before and after the map was taken", async () => {
    const base = await createQcow2(path.join(dir, "w-base.qcow2"), { sizeBytes: SIZE, writes: ["write -P 0x51 0 6M"] });
    const top = await createQcow2(path.join(dir, "w-top.qcow2"), {
      sizeBytes: SIZE,
      backing: base,
      writes: ["write -P 0x52 6M 64k"],
    });
    const expected = await rawImage(top);
    const handle = await open(openChainForWrite({ files: [base, top], runDir, exportName: "write" }));

    const before = Buffer.alloc(100 * KiB, 0x61); // written at once: maybe before the map is ready, maybe after
    await handle.write(64 * KiB, before);
    before.copy(expected, 64 * KiB);
    expect((await handle.read(0, MiB)).equals(expected.subarray(0, MiB))).toBe(true);

    const across = Buffer.alloc(MiB + 4 * KiB, 0x62); // straddles an extent boundary of the base
    await handle.write(2 * MiB - 2 * KiB, across);
    across.copy(expected, 2 * MiB - 2 * KiB);
    await handle.writeZeroes(4 * MiB, 128 * KiB);
    expected.fill(0, 4 * MiB, 4 * MiB + 128 * KiB);
    await handle.flush();

    expect(sha256(await handle.read(0, SIZE))).toBe(sha256(expected));
    for (const { offset, length } of windows(100, MiB)) {
      expect(
        (await handle.read(offset, length)).equals(expected.subarray(offset, offset + length)),
        `window at ${offset}+${length}`,
      ).toBe(true);
    }
    // What the base holds is read from its file; the top layer (ours, and being written) only ever from the daemon.
    const stats = handle.readStats();
    expect(stats.fileBytes).toBeGreaterThan(0);
    expect(stats.serverBytes).toBeGreaterThan(0);
  });
});

describe("which layers can be read as they are", () => {
  it("refuses encrypted layers and layers with an external data file", async () => {
    expect(await clustersReadableAsIs(chain[0] as string)).toEqual({ readable: true });
    const encrypted = path.join(dir, "encrypted.qcow2");
    // The legacy AES format: a LUKS image would do as well (the header's crypt method is what counts), but
    // creating one times PBKDF2 on the thread's CPU clock, which on a loaded machine fails with "Unable to get
    // accurate CPU usage".
    await run("qemu-img", [
      "create",
      "-q",
      "--object",
      "secret,id=sec0,data=failback",
      "-f",
      "qcow2",
      "-o",
      "encrypt.format=aes,encrypt.key-secret=sec0",
      encrypted,
      "1M",
    ]);
    expect(await clustersReadableAsIs(encrypted)).toMatchObject({
      readable: false,
      reason: expect.stringMatching(/encrypted/) as unknown,
    });
    const external = path.join(dir, "external.qcow2");
    await run("qemu-img", [
      "create",
      "-q",
      "-f",
      "qcow2",
      "-o",
      `data_file=${path.join(dir, "external.raw")}`,
      external,
      "1M",
    ]);
    expect(await clustersReadableAsIs(external)).toMatchObject({
      readable: false,
      reason: expect.stringMatching(/external data file/) as unknown,
    });
    fs.writeFileSync(path.join(dir, "plain.bin"), Buffer.alloc(4096));
    expect(await clustersReadableAsIs(path.join(dir, "plain.bin"))).toMatchObject({ readable: false });
  });
});
