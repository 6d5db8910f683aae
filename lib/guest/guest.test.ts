import { execFile } from "node:child_process";
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import zlib from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureCachedDir } from "./atomic-cache";
import {
  ensureGuestImage,
  GUEST_POWEROFF_MESSAGE,
  GUEST_READY_MARKER,
  readGuestManifest,
  type GuestImage,
} from "./build-guest";
import { buildCpio } from "./cpio";
import {
  createQcow2,
  powerdown,
  QmpClient,
  SerialConsole,
  startGuest,
  verifyPattern,
  waitForExit,
  type RunningGuest,
} from "./test-helpers";

const execFileAsync = promisify(execFile);

/** Stable across runs so only the first run on a machine downloads and builds. */
const CACHE_DIR = process.env.FAILBACK_GUEST_CACHE ?? path.join(os.tmpdir(), "failback-guest-cache");

const tmpDirs: string[] = [];
const guests: RunningGuest[] = [];
const closers: (() => void)[] = [];

async function makeTmpDir(prefix: string): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), prefix));
  tmpDirs.push(dir);
  return dir;
}

afterAll(async () => {
  for (const close of closers) close();
  await Promise.all(guests.map((g) => g.kill()));
  await Promise.all(tmpDirs.map((d) => fsp.rm(d, { recursive: true, force: true })));
});

/** Lists a gzip'd newc archive with an independent reader (busybox or GNU cpio), if the host has one. */
async function listCpio(gz: Buffer): Promise<string[] | null> {
  const dir = await makeTmpDir("fbg-cpio-");
  const file = path.join(dir, "a.cpio");
  await fsp.writeFile(file, zlib.gunzipSync(gz));
  for (const [cmd, args] of [
    ["busybox", ["cpio", "-t", "-F", file]],
    ["cpio", ["-t", "--quiet", "-F", file]],
  ] as const) {
    try {
      const { stdout } = await execFileAsync(cmd, [...args], { maxBuffer: 16 << 20 });
      return stdout.split("\n").filter(Boolean);
    } catch (err) {
      if ((err as { code?: unknown }).code === "ENOENT") continue;
      throw err;
    }
  }
  return null;
}

describe("cpio writer", () => {
  it("writes a newc archive that cpio(1) reads back", async () => {
    const archive = buildCpio([
      { type: "dir", path: "etc" },
      { type: "file", path: "etc/a", data: "x" },
      { type: "file", path: "etc/bb", data: Buffer.alloc(5, 1), mode: 0o755 },
      { type: "symlink", path: "etc/link", target: "a" },
      { type: "chardev", path: "console", major: 5, minor: 1 },
    ]);
    expect(archive.subarray(0, 6).toString()).toBe("070701");
    expect(archive.length % 4).toBe(0);
    const names = await listCpio(zlib.gzipSync(archive));
    if (names === null) return; // no cpio reader on this host; the boot test covers the format
    expect(names).toEqual(["etc", "etc/a", "etc/bb", "etc/link", "console"]);
  });

  it("rejects unsafe paths", () => {
    expect(() => buildCpio([{ type: "file", path: "../x", data: "" }])).toThrow(/invalid cpio path/);
  });
});

describe("atomic cache dir", () => {
  const readOk = async (dir: string) => {
    const text = await fsp.readFile(path.join(dir, "done"), "utf8").catch(() => null);
    return text === "v1" ? dir : null;
  };

  it("builds once for concurrent callers", async () => {
    const root = await makeTmpDir("fbg-cache-");
    let builds = 0;
    const build = async (staging: string) => {
      builds++;
      await new Promise((r) => setTimeout(r, 300));
      await fsp.writeFile(path.join(staging, "done"), "v1");
    };
    const results = await Promise.all(
      Array.from({ length: 4 }, () => ensureCachedDir({ root, name: "thing", read: readOk, build })),
    );
    expect(builds).toBe(1);
    expect(new Set(results)).toEqual(new Set([path.join(root, "thing")]));
    expect(fs.readdirSync(root)).toEqual(["thing"]); // no lock, no staging left behind
  });

  it("leaves nothing half-built when the build crashes, and rebuilds next time", async () => {
    const root = await makeTmpDir("fbg-cache-");
    const failing = ensureCachedDir({
      root,
      name: "thing",
      read: readOk,
      build: async (staging) => {
        await fsp.writeFile(path.join(staging, "partial"), "…");
        throw new Error("boom");
      },
    });
    await expect(failing).rejects.toThrow("boom");
    expect(fs.readdirSync(root)).toEqual([]);
    const dir = await ensureCachedDir({
      root,
      name: "thing",
      read: readOk,
      build: (staging) => fsp.writeFile(path.join(staging, "done"), "v1"),
    });
    expect(fs.readFileSync(path.join(dir, "done"), "utf8")).toBe("v1");
  });

  it("breaks a lock left by a dead process and replaces an outdated entry", async () => {
    const root = await makeTmpDir("fbg-cache-");
    // An outdated entry, and a lock from a pid that cannot exist.
    fs.mkdirSync(path.join(root, "thing"));
    fs.writeFileSync(path.join(root, "thing", "done"), "v0");
    fs.writeFileSync(
      path.join(root, "thing.lock"),
      JSON.stringify({ pid: 2 ** 22 + 17, host: os.hostname(), token: "x", since: "" }),
    );
    const lines: string[] = [];
    const dir = await ensureCachedDir({
      root,
      name: "thing",
      read: readOk,
      build: (staging) => fsp.writeFile(path.join(staging, "done"), "v1"),
      log: (l) => lines.push(l),
    });
    expect(fs.readFileSync(path.join(dir, "done"), "utf8")).toBe("v1");
    expect(lines.join("\n")).toMatch(/breaking stale lock/);
    expect(fs.readdirSync(root)).toEqual(["thing"]);
  });
});

describe("lab guest", () => {
  let image: GuestImage;
  const timings: Record<string, string> = {};
  const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

  beforeAll(async () => {
    let t = Date.now();
    image = await ensureGuestImage(CACHE_DIR, { log: (line) => console.log(`[guest build] ${line}`) });
    timings.buildFirstCall = secs(Date.now() - t);
    t = Date.now();
    const again = await ensureGuestImage(CACHE_DIR);
    timings.buildCacheHit = secs(Date.now() - t);
    expect(again).toEqual(image);
  }, 600_000);

  afterAll(() => {
    console.log(`[guest timings] ${JSON.stringify(timings)}`);
  });

  it("packs busybox, init, the acpid power-button action and the modules", async () => {
    const manifest = await readGuestManifest(CACHE_DIR);
    expect(manifest).not.toBeNull();
    expect(fs.statSync(image.kernel).size).toBeGreaterThan(1_000_000);
    const names = await listCpio(fs.readFileSync(image.initrd));
    if (names === null) return;
    expect(names).toEqual(
      expect.arrayContaining(["init", "bin/busybox", "bin/sh", "dev/console", "etc/acpi/PWRF/00000080"]),
    );
    for (const m of manifest?.modules ?? []) expect(names).toContain(`lib/modules/${m}.ko`);
    expect([...(manifest?.modules ?? []), ...(manifest?.builtinModules ?? [])].sort()).toEqual(
      expect.arrayContaining(["button", "evdev", "virtio_blk", "virtio_pci"]),
    );
  });

  it("boots, writes to its disk from the serial shell, and powers off on ACPI power button", async () => {
    const runDir = await makeTmpDir("fbg-");
    const disk = path.join(runDir, "disk.qcow2");
    await createQcow2(disk, 16);

    const started = Date.now();
    const guest = startGuest({ image, disk, runDir });
    guests.push(guest);
    const serial = await SerialConsole.connect(guest.serialSocket);
    closers.push(() => serial.close());
    try {
      await serial.waitFor(GUEST_READY_MARKER, { timeoutMs: 40_000 });
      await serial.waitForPrompt({ timeoutMs: 10_000 });
    } catch (err) {
      throw new Error(`${(err as Error).message}\nqemu stderr: ${guest.stderr()}`);
    }
    timings.boot = secs(Date.now() - started);

    // 64 KiB of 0xab at offset 192 KiB (block 3 of 64 KiB), flushed to the virtual disk.
    const offset = 3 * 65536;
    const length = 65536;
    const write = await serial.run(
      "tr '\\000' '\\253' </dev/zero | head -c 65536 >/tmp/pattern && " +
        "dd if=/tmp/pattern of=/dev/vda bs=64k count=1 seek=3 conv=fsync && sync",
    );
    expect(write.status, serial.tail()).toBe(0);

    const qmp = await QmpClient.connect(guest.qmpSocket);
    closers.push(() => qmp.close());
    const pressed = Date.now();
    await qmp.execute("system_powerdown");
    const exit = await waitForExit(guest, 10_000);
    timings.poweroff = secs(Date.now() - pressed);
    expect(exit, `QEMU did not exit within 10 s of system_powerdown\n${serial.tail()}`).not.toBeNull();
    expect(exit).toEqual({ code: 0, signal: null });
    // The graceful path: acpid ran the power-button action, which powered off.
    expect(fs.readFileSync(guest.serialLog, "latin1")).toContain(GUEST_POWEROFF_MESSAGE);

    const written = await verifyPattern(disk, 0xab, offset, length);
    expect(written.ok, written.output).toBe(true);
    const untouched = await verifyPattern(disk, 0x00, offset - length, length);
    expect(untouched.ok, untouched.output).toBe(true);
  }, 60_000);

  it("powers off when system_powerdown is sent during boot and repeated until QEMU exits", async () => {
    const runDir = await makeTmpDir("fbg-");
    const disk = path.join(runDir, "disk.qcow2");
    await createQcow2(disk, 16);
    const started = Date.now();
    const guest = startGuest({ image, disk, runDir });
    guests.push(guest);
    // Nobody reads the serial console here: shutdown must not depend on it.
    const qmp = await QmpClient.connect(guest.qmpSocket);
    closers.push(() => qmp.close());
    const { exit, presses } = await powerdown(qmp, guest, { timeoutMs: 40_000, resendEveryMs: 1_000 });
    timings.earlyPowerdown = `${secs(Date.now() - started)} after start, ${presses} presses`;
    expect(exit, `QEMU still running after ${presses} presses\n${guest.stderr()}`).toEqual({ code: 0, signal: null });
  }, 60_000);
});
