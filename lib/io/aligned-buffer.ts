// Buffers that O_DIRECT reads can land in. A direct read moves data from the device straight into user memory,
// so the kernel wants the buffer's address, the file offset and the length to be multiples of the device's
// block size (512 bytes; 4 KiB on some disks). Node has no way to tell a Buffer's address, but V8 allocates a
// WebAssembly memory on a page boundary: a view starting on a page boundary of such a memory is page aligned,
// and we remember which memories those are.

export const DIRECT_IO_ALIGNMENT = 4096;
const WASM_PAGE_BYTES = 65536;

/** The memories behind buffers made here; each one starts on a page boundary. */
const pageAlignedMemories = new WeakSet<ArrayBufferLike>();

/** A zero-filled buffer of `bytes` that starts on a page boundary. */
export function allocPageAlignedBuffer(bytes: number): Buffer {
  if (!Number.isSafeInteger(bytes) || bytes <= 0)
    throw new RangeError(`an aligned buffer needs a positive size, got ${bytes}`);
  const pages = Math.ceil(bytes / WASM_PAGE_BYTES);
  // maximum = initial: the memory never grows, so its ArrayBuffer is never detached under a read.
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
  pageAlignedMemories.add(memory.buffer);
  return Buffer.from(memory.buffer, 0, bytes);
}

/** Whether an O_DIRECT read of `buffer.length` bytes at file offset `position` into `buffer` is allowed. */
export function directReadFits(buffer: Buffer, position: number): boolean {
  return (
    buffer.length > 0 &&
    pageAlignedMemories.has(buffer.buffer) &&
    buffer.byteOffset % DIRECT_IO_ALIGNMENT === 0 &&
    buffer.length % DIRECT_IO_ALIGNMENT === 0 &&
    position % DIRECT_IO_ALIGNMENT === 0
  );
}
