import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProviderError } from "../errors";
import type { DiskHandle } from "../types";
import { openChainForRead, openChainForWrite } from "./disk-access";
import { startStorageDaemon, storageDaemonPaths } from "./storage-daemon";
import {
  type ImageHolder,
  KiB,
  MiB,
  createQcow2,
  daemonPidsFor,
  holdImageOpen,
  makeTempDir,
  qemuIo,
  rawImage,
  run,
  sha256,
  sha256File,
  removeTestDir,
} from "./testing/images";

const SIZE = 8 * MiB;
let dir: string;
let runDir: string;
const handles: DiskHandle[] = [];
const holders: ImageHolder[] = [];

/** Three layers: l0 ← l1 ← l2, each overwriting part of the one below (l1 also zeroes a range of l0's data). */
let chain: string[];

async function track(handle: Promise<DiskHandle>): Promise<DiskHandle> {
  const h = await handle;
  handles.push(h);
  return h;
}

async function readAll(handle: DiskHandle): Promise<Buffer> {
  return handle.read(0, handle.sizeBytes);
}

beforeAll(async () => {
  dir = await makeTempDir("failback-disk-access-");
  runDir = path.join(dir, "run");
  const l0 = await createQcow2(path.join(dir, "l0.qcow2"), {
    sizeBytes: SIZE,
    writes: ["write -P 0x11 0 2M", "write -P 0x12 4M 1M"],
  });
  const l1 = await createQcow2(path.join(dir, "l1.qcow2"), {
    sizeBytes: SIZE,
    backing: l0,
    writes: ["write -P 0x21 1M 512k", "write -z 4M 64k"],
  });
  const l2 = await createQcow2(path.join(dir, "l2.qcow2"), {
    sizeBytes: SIZE,
    backing: l1,
    writes: ["write -P 0x31 1536k 64k", "write -P 0x32 6M 128k"],
  });
  chain = [l0, l1, l2];
});

afterAll(async () => {
  await Promise.allSettled(handles.map((h) => h.close()));
  await Promise.allSettled(holders.map((h) => h.kill()));
  await removeTestDir(dir, runDir);
});

describe("openChainForRead", () => {
  it("reads a 3-layer chain exactly as qemu-img convert of the top does", async () => {
    const handle = await track(openChainForRead({ files: chain, runDir, exportName: "full" }));
    expect(handle.sizeBytes).toBe(SIZE);
    expect(handle.writable).toBe(false);
    expect(sha256(await readAll(handle))).toBe(sha256(await rawImage(chain[2]!)));
    await handle.close();
  });

  it("stops at a lower layer: the upper layer's writes are not part of the view", async () => {
    const handle = await track(openChainForRead({ files: chain.slice(0, 2), runDir, exportName: "below-l2" }));
    const data = await readAll(handle);
    expect(sha256(data)).toBe(sha256(await rawImage(chain[1]!)));
    expect(data.subarray(1536 * KiB, 1600 * KiB).every((b) => b === 0x11)).toBe(true); // l2 wrote 0x31 here
    expect(data.subarray(6 * MiB, 6 * MiB + 128 * KiB).every((b) => b === 0)).toBe(true); // and 0x32 here
    await handle.close();
  });

  it("lists data regions without the zero and unallocated ranges, whole disk or a window", async () => {
    const handle = await track(openChainForRead({ files: chain, runDir, exportName: "regions" }));
    // l1 zeroed 4M..4M+64k of l0's data; 2M..4M, 5M..6M and beyond 6M+128k were never written.
    expect(await handle.dataRegions()).toEqual([
      { offset: 0, length: 2 * MiB },
      { offset: 4 * MiB + 64 * KiB, length: MiB - 64 * KiB },
      { offset: 6 * MiB, length: 128 * KiB },
    ]);
    expect(await handle.dataRegions(MiB, 4 * MiB)).toEqual([
      { offset: MiB, length: MiB },
      { offset: 4 * MiB + 64 * KiB, length: MiB - 64 * KiB },
    ]);
    // Everything outside the regions really reads as zeroes.
    const data = await readAll(handle);
    let at = 0;
    for (const region of [...(await handle.dataRegions()), { offset: SIZE, length: 0 }]) {
      expect(data.subarray(at, region.offset).every((b) => b === 0)).toBe(true);
      at = region.offset + region.length;
    }
    await handle.close();
  });

  it("refuses writes on a read-only view, and reads beyond the end, with ProviderError invalid", async () => {
    const handle = await track(openChainForRead({ files: chain, runDir, exportName: "ro" }));
    await expect(handle.write(0, Buffer.alloc(512))).rejects.toMatchObject({ name: "ProviderError", kind: "invalid" });
    await expect(handle.writeZeroes(0, 512)).rejects.toMatchObject({ name: "ProviderError", kind: "invalid" });
    await expect(handle.read(SIZE, 512)).rejects.toMatchObject({ name: "ProviderError", kind: "invalid" });
    await handle.close();
  });
});

describe("openChainForWrite", () => {
  it("writes land in the top file only", async () => {
    const base = await createQcow2(path.join(dir, "w-base.qcow2"), { sizeBytes: SIZE, writes: ["write -P 0x41 0 4M"] });
    const mid = await createQcow2(path.join(dir, "w-mid.qcow2"), {
      sizeBytes: SIZE,
      backing: base,
      writes: ["write -P 0x42 2M 1M"],
    });
    const top = await createQcow2(path.join(dir, "w-top.qcow2"), { sizeBytes: SIZE, backing: mid });
    const before = { base: sha256File(base), mid: sha256File(mid) };
    const expected = await rawImage(top);

    const handle = await track(openChainForWrite({ files: [base, mid, top], runDir, exportName: "write" }));
    expect(handle.writable).toBe(true);
    const a = Buffer.alloc(64 * KiB, 0x55);
    const b = Buffer.alloc(128 * KiB, 0x66);
    await handle.write(MiB, a);
    await handle.write(3 * MiB + 64 * KiB, b);
    await handle.writeZeroes(5 * MiB, 64 * KiB);
    await handle.flush();
    a.copy(expected, MiB);
    b.copy(expected, 3 * MiB + 64 * KiB);
    expect(sha256(await handle.read(0, SIZE))).toBe(sha256(expected));
    await handle.close();

    expect(sha256File(base)).toBe(before.base);
    expect(sha256File(mid)).toBe(before.mid);
    const map = JSON.parse(
      await run("qemu-img", [
        "map",
        "--output=json",
        `json:${JSON.stringify({ driver: "qcow2", backing: null, file: { driver: "file", filename: top } })}`,
      ]),
    ) as Array<{ start: number; length: number; present: boolean; zero: boolean; data: boolean }>;
    expect(
      map.filter((e) => e.present).map(({ start, length, zero, data }) => ({ start, length, zero, data })),
    ).toEqual([
      { start: MiB, length: 64 * KiB, zero: false, data: true },
      { start: 3 * MiB + 64 * KiB, length: 128 * KiB, zero: false, data: true },
      { start: 5 * MiB, length: 64 * KiB, zero: true, data: false },
    ]);
    expect(sha256(await rawImage(top))).toBe(sha256(expected));
  });
});

describe("sharing with a running VM", () => {
  it("reads the frozen lower chain while another process writes into the top layer", async () => {
    const [l0, l1] = [path.join(dir, "vm-l0.qcow2"), path.join(dir, "vm-l1.qcow2")];
    await createQcow2(l0, { sizeBytes: SIZE, writes: ["write -P 0x51 0 3M"] });
    await createQcow2(l1, { sizeBytes: SIZE, backing: l0, writes: ["write -P 0x52 2M 2M"] });
    const active = await createQcow2(path.join(dir, "vm-active.qcow2"), { sizeBytes: SIZE, backing: l1 });
    const frozen = await rawImage(l1);
    const vm = await holdImageOpen(active);
    holders.push(vm);

    // The active layer is locked by its writer: a plain view of it is refused, and says why.
    const refused = await openChainForRead({ files: [l0, l1, active], runDir, exportName: "vm-locked" }).catch(
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(ProviderError);
    expect(refused).toMatchObject({ kind: "busy" });
    expect((refused as ProviderError).toolMessage).toMatch(/lock/);

    const handle = await track(
      openChainForRead({ files: [l0, l1], runDir, exportName: "vm-frozen", shareWithRunningVm: true }),
    );
    let writes = 0;
    let keepWriting = true;
    const writer = (async () => {
      for (let i = 0; keepWriting; i++, writes++) await vm.command(`write -P 0x7${i % 10} ${(i % 96) * 64}k 64k`);
    })();
    for (let round = 0; round < 3; round++) expect(sha256(await readAll(handle))).toBe(sha256(frozen));
    keepWriting = false;
    await writer;
    await handle.close();
    await vm.quit();
    expect(writes).toBeGreaterThan(0);
    expect(sha256(await rawImage(l1))).toBe(sha256(frozen));
  });

  it("a shared view leaves its layers free for the VM's own later writes (block-commit); a plain view locks them", async () => {
    const base = await createQcow2(path.join(dir, "lock-base.qcow2"), {
      sizeBytes: SIZE,
      writes: ["write -P 0x61 0 1M"],
    });
    // qemu-io opening the file read-write stands for the VM reopening a backing layer to commit into it.
    const takeWriteLock = () => run("qemu-io", ["-f", "qcow2", "-c", "read 0 4k", base]);

    const plain = await track(openChainForRead({ files: [base], runDir, exportName: "lock-plain" }));
    await expect(takeWriteLock()).rejects.toThrow(/Failed to get "write" lock/);
    await plain.close();

    const shared = await track(
      openChainForRead({ files: [base], runDir, exportName: "lock-shared", shareWithRunningVm: true }),
    );
    await expect(takeWriteLock()).resolves.toMatch(/read 4096\/4096/);
    await shared.close();
  });
});

describe("daemon failures", () => {
  it("a SIGKILLed daemon makes pending and later NBD reads fail fast with a transient ProviderError", async () => {
    // Every read over NBD here (direct reads, which do not wait on the daemon, have their own test).
    const handle = await track(openChainForRead({ files: chain, runDir, exportName: "killed", directReads: false }));
    const [pid] = daemonPidsFor(storageDaemonPaths(runDir, "killed").pidFile);
    expect(pid).toBeDefined();
    // Stopped first so the reads are surely still pending when it dies.
    process.kill(pid!, "SIGSTOP");
    const pending = Array.from({ length: 8 }, (_, i) =>
      handle.read(i * MiB, MiB).then(
        () => "read",
        (e: unknown) => e,
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const killedAt = Date.now();
    process.kill(pid!, "SIGKILL");
    for (const outcome of await Promise.all(pending)) {
      expect(outcome).toBeInstanceOf(ProviderError);
      expect(outcome).toMatchObject({ kind: "hypervisor", transient: true });
    }
    await expect(handle.read(0, 4096)).rejects.toMatchObject({ kind: "hypervisor", transient: true });
    expect(Date.now() - killedAt).toBeLessThan(2_000);
    await handle.close();
  });

  it("replaces a daemon left behind by a crashed run: one daemon afterwards", async () => {
    const pidFile = storageDaemonPaths(runDir, "leftover").pidFile;
    const forgotten = await openChainForRead({ files: chain, runDir, exportName: "leftover" });
    const [oldPid] = daemonPidsFor(pidFile);
    expect(oldPid).toBeDefined();

    const handle = await track(openChainForRead({ files: chain, runDir, exportName: "leftover" }));
    const pids = daemonPidsFor(pidFile);
    expect(pids).toHaveLength(1);
    expect(pids[0]).not.toBe(oldPid);
    expect(sha256(await readAll(handle))).toBe(sha256(await rawImage(chain[2]!)));
    await expect(forgotten.read(0, 4096)).rejects.toMatchObject({ kind: "hypervisor", transient: true });
    await forgotten.close();
    await handle.close();
    expect(daemonPidsFor(pidFile)).toEqual([]);
    expect(fs.existsSync(storageDaemonPaths(runDir, "leftover").socketPath)).toBe(false);
  });

  it("a daemon that cannot start rejects with a ProviderError carrying its stderr", async () => {
    const junk = path.join(dir, "not-qcow2.qcow2");
    fs.writeFileSync(junk, Buffer.alloc(64 * KiB, 0x20));
    await expect(startStorageDaemon({ files: [junk], runDir, exportName: "junk" })).rejects.toMatchObject({
      name: "ProviderError",
      toolMessage: expect.stringMatching(/qcow2/i) as unknown,
    });
    await expect(
      startStorageDaemon({ files: chain, runDir, exportName: "nobitmap", bitmaps: ["nope"] }),
    ).rejects.toMatchObject({
      kind: "invalid",
      toolMessage: expect.stringMatching(/Bitmap 'nope' is not found/) as unknown,
    });
    await expect(
      openChainForRead({ files: [path.join(dir, "missing.qcow2")], runDir, exportName: "missing" }),
    ).rejects.toMatchObject({ kind: "not_found" });
    expect(daemonPidsFor(storageDaemonPaths(runDir, "junk").pidFile)).toEqual([]);
  });
});

// Keep an eye on the helper too: a writer really has the file locked (the premise of the sharing tests).
describe("test premise", () => {
  it("qemu-io holding an image takes its write lock", async () => {
    const file = await createQcow2(path.join(dir, "premise.qcow2"), { sizeBytes: MiB });
    const holder = await holdImageOpen(file);
    holders.push(holder);
    await expect(qemuIo(file, ["read 0 4k"])).rejects.toThrow(/lock/);
    await holder.quit();
  });
});
