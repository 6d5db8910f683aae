// Reusable read buffers: a fresh 1 MiB buffer per read made garbage collection about half of the reading
// process's CPU time. A pool holds at most as many buffers as reads are ever in flight.
import { allocPageAlignedBuffer } from "@/lib/io/aligned-buffer";
import { allocReadBuffer } from "@/lib/io/read-buffer";
import type { DiskHandle } from "@/lib/providers/types";

export class BufferPool {
  private readonly free: Buffer[] = [];

  /**
   * `pageAligned`: buffers that O_DIRECT reads can fill (lib/io/aligned-buffer.ts), for whole-disk passes;
   * otherwise buffers that start off the page boundary, which copies from the page cache or a socket prefer
   * (lib/io/read-buffer.ts).
   */
  constructor(
    private readonly bufferBytes: number,
    private readonly pageAligned = false,
  ) {}

  take(): Buffer {
    return (
      this.free.pop() ??
      (this.pageAligned ? allocPageAlignedBuffer(this.bufferBytes) : allocReadBuffer(this.bufferBytes))
    );
  }

  give(buffer: Buffer): void {
    this.free.push(buffer);
  }
}

export interface PooledRead {
  data: Buffer;
  release(): void;
}

/** Reads through the handle's readInto into a pooled buffer when it has one; `release` returns the buffer. */
export async function readPooled(
  handle: DiskHandle,
  pool: BufferPool,
  offset: number,
  length: number,
): Promise<PooledRead> {
  if (!handle.readInto) return { data: await handle.read(offset, length), release: () => {} };
  const buffer = pool.take();
  if (buffer.length < length)
    throw new Error(`a pooled read of ${length} bytes exceeds the pool's ${buffer.length}-byte buffers`);
  const data = buffer.subarray(0, length);
  try {
    await handle.readInto(offset, data);
  } catch (error) {
    pool.give(buffer);
    throw error;
  }
  return { data, release: () => pool.give(buffer) };
}
