// Reads guest bytes of a qcow2 chain straight from the layers' files, by the chain's map: one pread per mapped
// piece, zeroes without any I/O, and only what qemu alone can decode (compressed clusters, bytes written since
// the map was taken) through the storage daemon. Going around the daemon saves two copies of every byte and the
// daemon's own CPU — the difference between being bound by the disk and being bound by two busy cores.
//
// Safe only while nobody else changes the mapped layers: they are frozen snapshot layers (the storage daemon or
// a running VM holds them read-only) or layers this process writes through the daemon, whose written ranges the
// caller hands to forgetRange before the write is sent.
import { constants } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { directReadFits } from "@/lib/io/aligned-buffer";
import type { Region } from "../types";
import { type ChainExtent, mapChain } from "./chain-map";
import { clustersReadableAsIs } from "./qcow2-header";

export type ServerRead = (offset: number, target: Buffer) => Promise<void>;

export interface DirectReadStats {
  /** Bytes read from the layers' files. */
  fileBytes: number;
  /** Bytes known to be zero, filled in without any I/O. */
  zeroBytes: number;
  /** Bytes the storage daemon had to serve. */
  serverBytes: number;
  /** Of fileBytes, those read with O_DIRECT, around the page cache (into page-aligned buffers only). */
  uncachedBytes: number;
}

export interface DirectReaderOptions {
  /** Layers (indexes into files) whose files are being written: always read through the daemon. */
  serverOnlyLayers?: readonly number[];
}

export type OpenedDirectReader = { reader: DirectReader } | { reader?: undefined; reason: string };

export class DirectReader {
  readonly stats: DirectReadStats = { fileBytes: 0, zeroBytes: 0, serverBytes: 0, uncachedBytes: 0 };

  private constructor(
    /** Sorted, contiguous, covering the disk. */
    private readonly extents: ChainExtent[],
    /** Indexed by layer; undefined where the layer's file is not read directly. */
    private readonly layerFiles: ReadonlyArray<FileHandle | undefined>,
    /**
     * The same files opened with O_DIRECT, for reads into page-aligned buffers (lib/io/aligned-buffer.ts): a
     * whole-disk pass such as verification then costs no kernel copy and no page cache — on this project's
     * machine that was over half of verification's CPU. Undefined where the file system refuses O_DIRECT.
     */
    private readonly uncachedFiles: ReadonlyArray<FileHandle | undefined>,
  ) {}

  /** Layers whose file system refused an O_DIRECT read: read through the cache from then on. */
  private readonly uncachedRefused = new Set<number>();

  /** files: bottom → top, exactly the chain the daemon exports. Never rejects: a chain it cannot map says why. */
  static async open(files: readonly string[], options: DirectReaderOptions = {}): Promise<OpenedDirectReader> {
    const serverOnly = new Set(options.serverOnlyLayers ?? []);
    const opened: Array<FileHandle | undefined> = [];
    const uncached: Array<FileHandle | undefined> = [];
    try {
      const extents = await mapChain(files);
      for (const [layer, file] of files.entries()) {
        const verdict = serverOnly.has(layer) ? { readable: false as const } : await clustersReadableAsIs(file);
        opened.push(verdict.readable ? await open(file, "r") : undefined);
        uncached.push(verdict.readable ? await openUncached(file) : undefined);
      }
      const routed = extents.map((e): ChainExtent =>
        e.where === "file" && !opened[e.layer] ? { offset: e.offset, length: e.length, where: "server" } : e,
      );
      return { reader: new DirectReader(routed, opened, uncached) };
    } catch (error) {
      await Promise.all([...opened, ...uncached].map((f) => f?.close()));
      return { reason: error instanceof Error ? error.message : String(error) };
    }
  }

  /** Fills `target` with the guest bytes at `offset`; pieces only qemu can produce come from `fromServer`. */
  async readInto(offset: number, target: Buffer, fromServer: ServerRead): Promise<void> {
    const end = offset + target.length;
    const reads: Promise<void>[] = [];
    let pendingServer: Region | undefined;
    const flushServer = () => {
      if (!pendingServer) return;
      const { offset: at, length } = pendingServer;
      reads.push(fromServer(at, target.subarray(at - offset, at - offset + length)));
      this.stats.serverBytes += length;
      pendingServer = undefined;
    };
    for (let i = this.firstExtentAt(offset); i < this.extents.length; i++) {
      const extent = this.extents[i] as ChainExtent;
      if (extent.offset >= end) break;
      const from = Math.max(offset, extent.offset);
      const to = Math.min(end, extent.offset + extent.length);
      if (extent.where === "server") {
        if (pendingServer) pendingServer.length = to - pendingServer.offset;
        else pendingServer = { offset: from, length: to - from };
        continue;
      }
      flushServer();
      const piece = target.subarray(from - offset, to - offset);
      if (extent.where === "zero") {
        piece.fill(0);
        this.stats.zeroBytes += piece.length;
      } else {
        reads.push(this.readFromFile(extent.layer, piece, extent.hostOffset + (from - extent.offset)));
        this.stats.fileBytes += piece.length;
      }
    }
    flushServer();
    await Promise.all(reads);
  }

  /**
   * The range is about to be written through the daemon: from now on only the daemon knows its bytes. Called
   * before the write is sent, so no read that starts after the write can see the old bytes.
   */
  forgetRange(offset: number, length: number): void {
    if (length <= 0) return;
    const end = offset + length;
    const first = this.firstExtentAt(offset);
    let last = first;
    while (last < this.extents.length && (this.extents[last] as ChainExtent).offset < end) last++;
    if (first >= last) return;
    const replaced: ChainExtent[] = [];
    const head = this.extents[first] as ChainExtent;
    if (head.offset < offset) replaced.push(cut(head, head.offset, offset));
    replaced.push({ offset, length, where: "server" });
    const tail = this.extents[last - 1] as ChainExtent;
    if (tail.offset + tail.length > end) replaced.push(cut(tail, end, tail.offset + tail.length));
    this.extents.splice(first, last - first, ...replaced);
  }

  async close(): Promise<void> {
    await Promise.all([...this.layerFiles, ...this.uncachedFiles].map((f) => f?.close()));
  }

  /** Around the page cache when the buffer and position allow it, through it otherwise. */
  private async readFromFile(layer: number, piece: Buffer, position: number): Promise<void> {
    const uncached = this.uncachedRefused.has(layer) ? undefined : this.uncachedFiles[layer];
    if (uncached && directReadFits(piece, position)) {
      try {
        await readFully(uncached, piece, position);
        this.stats.uncachedBytes += piece.length;
        return;
      } catch (error) {
        // A file system that opened the file with O_DIRECT but wants stricter alignment than ours: read this
        // layer through the page cache from now on.
        // The handle stays open (other reads may be using it) and is closed with the rest.
        if ((error as NodeJS.ErrnoException).code !== "EINVAL") throw error;
        this.uncachedRefused.add(layer);
      }
    }
    await readFully(this.layerFiles[layer] as FileHandle, piece, position);
  }

  /** Index of the extent holding `offset` (the extents are sorted and contiguous). */
  private firstExtentAt(offset: number): number {
    let low = 0;
    let high = this.extents.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((this.extents[mid] as ChainExtent).offset <= offset) low = mid;
      else high = mid - 1;
    }
    return low;
  }
}

/** The file opened with O_DIRECT, or undefined where the file system does not offer it (tmpfs says EINVAL). */
async function openUncached(file: string): Promise<FileHandle | undefined> {
  try {
    return await open(file, constants.O_RDONLY | constants.O_DIRECT);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EINVAL") return undefined;
    throw error;
  }
}

/** The part [from, to) of an extent, keeping where it lives. */
function cut(extent: ChainExtent, from: number, to: number): ChainExtent {
  const region = { offset: from, length: to - from };
  if (extent.where === "file")
    return { ...region, where: "file", layer: extent.layer, hostOffset: extent.hostOffset + (from - extent.offset) };
  return { ...region, where: extent.where };
}

async function readFully(file: FileHandle, target: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < target.length) {
    const { bytesRead } = await file.read(target, done, target.length - done, position + done);
    // The map points inside the file: a short file means the image changed under us, never "zeroes".
    if (bytesRead === 0)
      throw new Error(
        `layer file ended at ${position + done} while reading ${target.length} mapped bytes at ${position}`,
      );
    done += bytesRead;
  }
}
