import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mergeRegions } from "../chain-export/disk-handle";
import {
  bitmapStatus,
  dirtyRegions,
  ensurePersistentBitmap,
  layerAllocatedRegions,
  listBitmaps,
  removeBitmap,
} from "./cbt";
import { startStorageDaemon } from "../chain-export/storage-daemon";
import {
  type ImageHolder,
  KiB,
  MiB,
  createQcow2,
  holdImageOpen,
  makeTempDir,
  qemuIo,
  run,
  removeTestDir,
} from "../chain-export/testing/images";

const SIZE = 8 * MiB;
let dir: string;
let runDir: string;
const holders: ImageHolder[] = [];

async function holder(file: string): Promise<ImageHolder> {
  const h = await holdImageOpen(file);
  holders.push(h);
  return h;
}

beforeAll(async () => {
  dir = await makeTempDir("failback-cbt-");
  runDir = path.join(dir, "run");
});

afterAll(async () => {
  await Promise.allSettled(holders.map((h) => h.kill()));
  await removeTestDir(dir, runDir);
});

describe("layerAllocatedRegions", () => {
  it("is what was written into the layer, at cluster granularity, zero writes included, backing ignored", async () => {
    const base = await createQcow2(path.join(dir, "layer-base.qcow2"), {
      sizeBytes: SIZE,
      writes: ["write -P 0x11 0 4M"],
    });
    const overlay = await createQcow2(path.join(dir, "layer-overlay.qcow2"), {
      sizeBytes: SIZE,
      backing: base,
      writes: [
        "write -P 0x21 100k 10k", // cluster 64k..128k
        "write -P 0x22 128k 64k", // the next cluster: merged with the one above
        "write -P 0x23 1M 200k", // 1M..1M+256k (four clusters, the last partly written)
        "write -z 3M 64k", // zeroes over the backing's data: a change
      ],
    });
    const expected = [
      { offset: 64 * KiB, length: 128 * KiB },
      { offset: MiB, length: 256 * KiB },
      { offset: 3 * MiB, length: 64 * KiB },
    ];
    expect(await layerAllocatedRegions(overlay)).toEqual(expected);
    expect(await layerAllocatedRegions(base)).toEqual([{ offset: 0, length: 4 * MiB }]);

    // -U: answers while a VM has the layer open and keeps writing into it.
    const vm = await holder(overlay);
    await vm.command("write -P 0x24 6M 64k");
    expect(await layerAllocatedRegions(overlay)).toEqual([...expected, { offset: 6 * MiB, length: 64 * KiB }]);
    await vm.quit();
  });
});

describe("persistent dirty bitmaps", () => {
  it("lifecycle: ensure (idempotent), writes mark it, dirtyRegions reads exactly them, remove → unavailable", async () => {
    const base = await createQcow2(path.join(dir, "cbt-base.qcow2"), {
      sizeBytes: SIZE,
      writes: ["write -P 0x31 0 2M"],
    });
    const top = await createQcow2(path.join(dir, "cbt-top.qcow2"), { sizeBytes: SIZE, backing: base });
    const files = [base, top];

    expect(await ensurePersistentBitmap(top, "cbt")).toBe("created");
    expect(await ensurePersistentBitmap(top, "cbt")).toBe("existing");
    expect(await listBitmaps(top)).toEqual([{ name: "cbt", granularity: 65_536, flags: ["auto"] }]);
    expect(await bitmapStatus(top, "cbt")).toBe("ok");
    expect(await dirtyRegions({ files, runDir, bitmap: "cbt" })).toEqual({
      available: true,
      regions: [],
      granularity: 65_536,
    });

    await qemuIo(top, ["write -P 0x41 100k 4k", "write -P 0x42 1M 130k", "write -z 5M 64k"]);
    const expected = [
      { offset: 64 * KiB, length: 64 * KiB },
      { offset: MiB, length: 192 * KiB },
      { offset: 5 * MiB, length: 64 * KiB },
    ];
    expect(await dirtyRegions({ files, runDir, bitmap: "cbt" })).toEqual({
      available: true,
      regions: expected,
      granularity: 65_536,
    });
    // Reading it left no daemon behind and did not mark the bitmap in-use.
    expect(fs.readdirSync(runDir).filter((f) => f.endsWith(".pid") || f.endsWith(".sock"))).toEqual([]);
    expect(await listBitmaps(top)).toEqual([{ name: "cbt", granularity: 65_536, flags: ["auto"] }]);

    // Independent check: libnbd's nbdinfo on an export of the same bitmap.
    const daemon = await startStorageDaemon({ files, runDir, exportName: "nbdinfo", bitmaps: ["cbt"] });
    try {
      const uri = `nbd+unix:///nbdinfo?socket=${daemon.socketPath}`;
      const map = JSON.parse(await run("nbdinfo", ["--map=qemu:dirty-bitmap:cbt", "--json", uri])) as Array<{
        offset: number;
        length: number;
        type: number;
      }>;
      expect(
        mergeRegions(map.filter((e) => (e.type & 1) !== 0).map(({ offset, length }) => ({ offset, length }))),
      ).toEqual(expected);
    } finally {
      await daemon.stop();
    }

    expect(await removeBitmap(top, "cbt")).toBe(true);
    expect(await removeBitmap(top, "cbt")).toBe(false);
    expect(await bitmapStatus(top, "cbt")).toBe("missing");
    const missing = await dirtyRegions({ files, runDir, bitmap: "cbt" });
    expect(missing.available).toBe(false);
    expect(missing.available ? "" : missing.reason).toMatch(/"cbt" does not exist/);
  });

  it("a bitmap left in-use by a killed writer is inconsistent: unavailable with a reason, then recreated", async () => {
    const file = await createQcow2(path.join(dir, "crash.qcow2"), { sizeBytes: SIZE });
    await ensurePersistentBitmap(file, "cbt");
    const vm = await holder(file);
    await vm.command("write -P 0x51 2M 64k");
    await vm.kill();
    const [bitmap] = await listBitmaps(file);
    expect(bitmap?.flags).toContain("in-use"); // what qemu-img info says, nobody has the file open

    expect(await bitmapStatus(file, "cbt")).toBe("inconsistent");
    const changed = await dirtyRegions({ files: [file], runDir, bitmap: "cbt" });
    expect(changed.available).toBe(false);
    expect(changed.available ? "" : changed.reason).toMatch(/"cbt" in .*crash\.qcow2 is inconsistent/);

    expect(await ensurePersistentBitmap(file, "cbt")).toBe("recreated");
    expect(await bitmapStatus(file, "cbt")).toBe("ok");
    expect(await dirtyRegions({ files: [file], runDir, bitmap: "cbt" })).toEqual({
      available: true,
      regions: [],
      granularity: 65_536,
    });
  });

  it("a bitmap of an image a running process writes is in use, not inconsistent", async () => {
    const file = await createQcow2(path.join(dir, "live.qcow2"), { sizeBytes: SIZE });
    await ensurePersistentBitmap(file, "cbt");
    const vm = await holder(file);
    await vm.command("write -P 0x61 0 64k");
    expect(await bitmapStatus(file, "cbt")).toBe("in_use");
    const changed = await dirtyRegions({ files: [file], runDir, bitmap: "cbt" });
    expect(changed.available ? "" : changed.reason).toMatch(/"cbt" in .* is in use/);
    // Offline changes to it are refused as busy while the writer runs.
    await expect(ensurePersistentBitmap(file, "cbt", 131_072)).rejects.toMatchObject({ kind: "busy" });

    await vm.quit();
    expect(await bitmapStatus(file, "cbt")).toBe("ok");
    expect(await dirtyRegions({ files: [file], runDir, bitmap: "cbt" })).toEqual({
      available: true,
      regions: [{ offset: 0, length: 64 * KiB }],
      granularity: 65_536,
    });
  });

  it("replaces a bitmap of another granularity or a disabled one, and rejects impossible granularities", async () => {
    const file = await createQcow2(path.join(dir, "granularity.qcow2"), { sizeBytes: SIZE });
    await ensurePersistentBitmap(file, "cbt", 65_536);
    expect(await ensurePersistentBitmap(file, "cbt", 131_072)).toBe("recreated");
    expect(await listBitmaps(file)).toEqual([{ name: "cbt", granularity: 131_072, flags: ["auto"] }]);
    await run("qemu-img", ["bitmap", "--disable", file, "cbt"]);
    expect(await ensurePersistentBitmap(file, "cbt", 131_072)).toBe("recreated");
    expect(await listBitmaps(file)).toEqual([{ name: "cbt", granularity: 131_072, flags: ["auto"] }]);
    await expect(ensurePersistentBitmap(file, "cbt", 1000)).rejects.toMatchObject({ kind: "invalid" });
  });
});
