// Buffers that I/O reads land in. Large allocations are page aligned, and so are the kernel's page-cache pages
// and socket buffers: a copy between two addresses that agree modulo 4 KiB stalls on false store-to-load
// dependencies ("4K aliasing"). Measured here, pread into a page-aligned buffer cost 5× the kernel CPU of the
// same read 256 bytes further on (0.65 s against 0.13 s per GiB from the page cache); NBD replies read from a
// socket behave the same.

/** Where a read buffer starts inside its allocation: off the page boundary, on a cache-line boundary. */
export const READ_BUFFER_SKEW = 256;
const PAGE_BYTES = 4096;

/** An uninitialised buffer of `bytes` that does not start on a page boundary. */
export function allocReadBuffer(bytes: number): Buffer {
  // Small buffers come from Node's shared pool at arbitrary offsets, and small copies do not suffer.
  if (bytes < PAGE_BYTES) return Buffer.allocUnsafe(bytes);
  return Buffer.allocUnsafeSlow(bytes + PAGE_BYTES).subarray(READ_BUFFER_SKEW, READ_BUFFER_SKEW + bytes);
}
