// A DiskHandle that reads straight from the chain's files where it can (direct-reader.ts) and does everything
// else — writes, zeroing, flushes, allocation maps, and the reads qemu alone can serve — through the storage
// daemon's NBD export. The chain is mapped at the first read, so a handle used only for writing never pays for it.
import { allocReadBuffer } from "@/lib/io/read-buffer";
import type { DiskHandle, Region } from "../types";
import type { NbdDiskHandle } from "./disk-handle";
import { DirectReader, type DirectReadStats } from "./direct-reader";

export class DirectReadDiskHandle implements DiskHandle {
  private opening: Promise<DirectReader | undefined> | undefined;
  private reader: DirectReader | undefined;
  /** Writes sent before the reader was ready: forgotten by it as soon as it is. */
  private readonly writtenBeforeReady: Region[] = [];
  /** Why reads go through the daemon only (the chain could not be mapped), if they do. */
  unavailableReason: string | undefined;

  constructor(
    private readonly server: NbdDiskHandle,
    /** bottom → top, exactly what the daemon exports. */
    private readonly files: readonly string[],
  ) {}

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
    if (offset < 0 || offset + target.length > this.sizeBytes || !this.server.connected) return this.server.readInto(offset, target);
    const reader = this.reader ?? (await this.open());
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
    return { ...(this.reader?.stats ?? { fileBytes: 0, zeroBytes: 0, serverBytes: 0 }) };
  }

  async close(): Promise<void> {
    try {
      await (this.opening ? this.opening.then((r) => r?.close()) : undefined);
    } finally {
      await this.server.close();
    }
  }

  private open(): Promise<DirectReader | undefined> {
    // The top of a writable chain is being written by the daemon: its file is never read directly.
    const serverOnlyLayers = this.writable ? [this.files.length - 1] : [];
    this.opening ??= DirectReader.open(this.files, { serverOnlyLayers }).then((opened) => {
      if (!opened.reader) {
        this.unavailableReason = opened.reason;
        return undefined;
      }
      for (const region of this.writtenBeforeReady.splice(0)) opened.reader.forgetRange(region.offset, region.length);
      this.reader = opened.reader;
      return opened.reader;
    });
    return this.opening;
  }

  private forget(offset: number, length: number): void {
    if (this.reader) this.reader.forgetRange(offset, length);
    else this.writtenBeforeReady.push({ offset, length });
  }
}
