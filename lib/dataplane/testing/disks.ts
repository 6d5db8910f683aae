// Test fixtures for the data plane: real qcow2 images opened through the qemu provider's NBD path, a source
// chain read view and a target "working snapshot" (base + empty overlay), plus a DiskHandle double that records
// (and can corrupt) what passes through it.
import fs from "node:fs";
import path from "node:path";
import { openChainForRead, openChainForWrite } from "@/lib/providers/chain-export/disk-access";
import { daemonPidsFor, makeTempDir, run, sha256File } from "@/lib/providers/chain-export/testing/images";
import type { DiskHandle, Region } from "@/lib/providers/types";

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const BLOCK = 64 * KiB;

/** A temporary folder of images and the daemons serving them; cleanup() removes both. */
export class DiskLab {
  private readonly open: DiskHandle[] = [];
  private exports = 0;

  private constructor(readonly dir: string) {}

  static async create(prefix: string): Promise<DiskLab> {
    return new DiskLab(await makeTempDir(prefix));
  }

  get runDir(): string {
    return path.join(this.dir, "run");
  }

  async image(name: string, sizeBytes: number, backing?: string): Promise<string> {
    const file = path.join(this.dir, `${name}.qcow2`);
    const backingArgs = backing ? ["-b", backing, "-F", "qcow2"] : [];
    await run("qemu-img", ["create", "-q", "-f", "qcow2", ...backingArgs, file, String(sizeBytes)]);
    return file;
  }

  async copy(file: string, name: string): Promise<string> {
    const to = path.join(this.dir, `${name}.qcow2`);
    await fs.promises.copyFile(file, to);
    return to;
  }

  /** Writes into the top file of `files` through a handle, then closes it. */
  async writeInto(files: string[], write: (disk: DiskHandle) => Promise<void>): Promise<void> {
    const disk = await this.openWrite(files);
    try {
      await write(disk);
      await disk.flush();
    } finally {
      await this.close(disk);
    }
  }

  openRead(files: string[]): Promise<DiskHandle> {
    return this.track(openChainForRead({ files, runDir: this.runDir, exportName: `r${this.exports++}` }));
  }

  openWrite(files: string[]): Promise<DiskHandle> {
    return this.track(openChainForWrite({ files, runDir: this.runDir, exportName: `w${this.exports++}` }));
  }

  async close(disk: DiskHandle): Promise<void> {
    await disk.close();
    this.open.splice(this.open.indexOf(disk), 1);
  }

  async cleanup(): Promise<void> {
    await Promise.allSettled(this.open.map((d) => d.close()));
    // A test that failed half-way may leave a daemon behind: its pid file names it.
    for (const file of fs.existsSync(this.runDir) ? fs.readdirSync(this.runDir) : []) {
      if (file.endsWith(".pid"))
        for (const pid of daemonPidsFor(path.join(this.runDir, file))) process.kill(pid, "SIGKILL");
    }
    await fs.promises.rm(this.dir, { recursive: true, force: true });
  }

  private async track(opening: Promise<DiskHandle>): Promise<DiskHandle> {
    const disk = await opening;
    this.open.push(disk);
    return disk;
  }
}

/**
 * A failback-shaped pair: both sides start from the same content (`common`); the source is a read-only chain
 * common ← changes (the replica and its writes since); the target is a copy of common with its own changes
 * (production), under an empty overlay opened for writing (the working snapshot).
 */
export interface DiskPair {
  source: DiskHandle;
  target: DiskHandle;
  sourceFiles: string[];
  targetBase: string;
  targetOverlay: string;
  /** sha256 of the target base file before the sync: it must stay untouched. */
  targetBaseSha: string;
}

export async function makePair(
  lab: DiskLab,
  name: string,
  sizeBytes: number,
  content: {
    /** Writes the shared content, or names an image holding it (copied, so it can be shared between pairs). */
    common: ((disk: DiskHandle) => Promise<void>) | string;
    source?: (disk: DiskHandle) => Promise<void>;
    target?: (disk: DiskHandle) => Promise<void>;
  },
): Promise<DiskPair> {
  let common: string;
  if (typeof content.common === "string") {
    common = await lab.copy(content.common, `${name}-common`);
  } else {
    common = await lab.image(`${name}-common`, sizeBytes);
    await lab.writeInto([common], content.common);
  }
  const targetBase = await lab.copy(common, `${name}-target-base`);
  if (content.target) await lab.writeInto([targetBase], content.target);
  const changes = await lab.image(`${name}-source-changes`, sizeBytes, common);
  if (content.source) await lab.writeInto([common, changes], content.source);
  const targetOverlay = await lab.image(`${name}-target-work`, sizeBytes, targetBase);
  const sourceFiles = [common, changes];
  return {
    source: await lab.openRead(sourceFiles),
    target: await lab.openWrite([targetBase, targetOverlay]),
    sourceFiles,
    targetBase,
    targetOverlay,
    targetBaseSha: sha256File(targetBase),
  };
}

/** Allocated extents of one qcow2 layer alone (its backing file left out). */
export async function layerExtents(file: string): Promise<Array<Region & { zero: boolean }>> {
  const spec = { driver: "qcow2", backing: null, file: { driver: "file", filename: file } };
  const map = JSON.parse(
    await run("qemu-img", ["map", "-U", "--output=json", `json:${JSON.stringify(spec)}`]),
  ) as Array<{
    start: number;
    length: number;
    present: boolean;
    zero: boolean;
  }>;
  return map.filter((e) => e.present).map((e) => ({ offset: e.start, length: e.length, zero: e.zero }));
}

/** Deterministic pseudo-random numbers (mulberry32), so a failing pattern can be reproduced. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random-looking bytes from a seed: cheap, reproducible, incompressible enough for digests. */
export function noise(length: number, seed: number): Buffer {
  const random = seededRandom(seed);
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i + 4 <= length; i += 4) out.writeUInt32LE(Math.floor(random() * 4294967296), i);
  for (let i = length - (length % 4); i < length; i++) out[i] = Math.floor(random() * 256);
  return out;
}

/** Writes `length` bytes of noise at `offset`, in pieces small enough for one request each. */
export async function fillNoise(disk: DiskHandle, offset: number, length: number, seed: number): Promise<void> {
  const piece = 4 * MiB;
  for (let at = offset; at < offset + length; at += piece) {
    await disk.write(at, noise(Math.min(piece, offset + length - at), seed + at));
  }
}

export interface IoRecord {
  reads: Region[];
  writes: Region[];
  zeroes: Region[];
  flushes: number;
}

export interface RecordingOptions {
  /** Replaces the data of a write: a target that corrupts what it stores. */
  mangleWrite?: (offset: number, data: Buffer) => Buffer;
  /** Delays every read: a slow disk. */
  readDelayMs?: number;
}

/** A DiskHandle that passes everything to `inner` and records it (optionally misbehaving, see RecordingOptions). */
export class RecordingDisk implements DiskHandle {
  readonly io: IoRecord = { reads: [], writes: [], zeroes: [], flushes: 0 };

  constructor(
    private readonly inner: DiskHandle,
    private readonly options: RecordingOptions = {},
  ) {}

  get sizeBytes(): number {
    return this.inner.sizeBytes;
  }

  get writable(): boolean {
    return this.inner.writable;
  }

  async read(offset: number, length: number): Promise<Buffer> {
    this.io.reads.push({ offset, length });
    if (this.options.readDelayMs) await new Promise((resolve) => setTimeout(resolve, this.options.readDelayMs));
    return this.inner.read(offset, length);
  }

  write(offset: number, data: Buffer): Promise<void> {
    this.io.writes.push({ offset, length: data.length });
    const { mangleWrite } = this.options;
    return this.inner.write(offset, mangleWrite ? mangleWrite(offset, data) : data);
  }

  writeZeroes(offset: number, length: number): Promise<void> {
    this.io.zeroes.push({ offset, length });
    return this.inner.writeZeroes(offset, length);
  }

  flush(): Promise<void> {
    this.io.flushes++;
    return this.inner.flush();
  }

  dataRegions(offset?: number, length?: number): Promise<Region[]> {
    return this.inner.dataRegions(offset, length);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

export const bytesOf = (regions: readonly Region[]) => regions.reduce((sum, r) => sum + r.length, 0);

/** True if any recorded region overlaps `area`. */
export function touches(regions: readonly Region[], area: Region): boolean {
  return regions.some((r) => r.offset < area.offset + area.length && area.offset < r.offset + r.length);
}
