// A DiskHandle that reads straight from the chain's files where it can (direct-reader.ts) and does everything
// else — writes, zeroing, flushes, allocation maps, and the reads qemu alone can serve — through the storage
// daemon's NBD export. The chain's map is taken while the daemon starts (openDirectReader), so the first read
// does not wait for a `qemu-img map` of its own.
import { allocReadBuffer } from "@/lib/io/read-buffer";
import type { DiskHandle, Region } from "../types";
import type { NbdDiskHandle } from "./disk-handle";
import { DirectReader, type DirectReadStats, type OpenedDirectReader } from "./direct-reader";

/** Maps the chain for direct reads; never rejects (a chain it cannot map says why). Start it before the daemon. */
export function openDirectReader(files: readonly string[], writable: boolean): Promise<OpenedDirectReader> {
  // The top of a writable chain is being written by the daemon: its file is never read directly.
  return DirectReader.open(files, { serverOnlyLayers: writable ? [files.length - 1] : [] });
}

export class DirectReadDiskHandle implements DiskHandle {
  private readonly opening: Promise<DirectReader | undefined>;
  private reader: DirectReader | undefined;
  /** Writes sent before the reader was ready: forgotten by it as soon as it is. */
  private readonly writtenBeforeReady: Region[] = [];
  /** Why reads go through the daemon only (the chain could not be mapped), if they do. */
  unavailableReason: string | undefined;

  constructor(
    private readonly server: NbdDiskHandle,
    /** openDirectReader of exactly the chain the daemon exports. */
    mapping: Promise<OpenedDirectReader>,
  ) {
    this.opening = mapping.then((opened) => {
      if (!opened.reader) {
        this.unavailableReason = opened.reason;
        return undefined;
      }
      for (const region of this.writtenBeforeReady.splice(0)) opened.reader.forgetRange(region.offset, region.length);
      this.reader = opened.reader;
      return opened.reader;
    });
  }

  get sizeBytes(): number {
    return this.server.sizeBytes;
  }

  get writable(): boolean {
    return this.server.writable;
  }

  async read(offset: number, length: number): Promise<Buffer> {
    const target = allocReadBuffer(length);
    await this.readInto(offset, target);
    return target;
  }

  async readInto(offset: number, target: Buffer): Promise<void> {
    // Out of range, or the daemon is gone: the daemon path fails with the right error. A handle whose daemon was
    // stopped (a new owner fenced this one off) must not go on reading as if nothing had happened.
    if (offset < 0 || offset + target.length > this.sizeBytes || !this.server.connected)
      return this.server.readInto(offset, target);
    const reader = this.reader ?? (await this.opening);
    if (!reader) return this.server.readInto(offset, target);
    await reader.readInto(offset, target, (at, piece) => this.server.readInto(at, piece));
  }

  write(offset: number, data: Buffer): Promise<void> {
    if (this.writable) this.forget(offset, data.length);
    return this.server.write(offset, data);
  }

  writeZeroes(offset: number, length: number): Promise<void> {
    if (this.writable) this.forget(offset, length);
    return this.server.writeZeroes(offset, length);
  }

  flush(): Promise<void> {
    return this.server.flush();
  }

  dataRegions(offset?: number, length?: number): Promise<Region[]> {
    return this.server.dataRegions(offset, length);
  }

  /** Where the bytes read so far came from (zeroes everywhere until the first read). */
  readStats(): DirectReadStats {
    return { ...(this.reader?.stats ?? { fileBytes: 0, zeroBytes: 0, serverBytes: 0, uncachedBytes: 0 }) };
  }

  async close(): Promise<void> {
    try {
      await this.opening.then((r) => r?.close());
    } finally {
      await this.server.close();
    }
  }

  private forget(offset: number, length: number): void {
    if (this.reader) this.reader.forgetRange(offset, length);
    else this.writtenBeforeReady.push({ offset, length });
  }
}
