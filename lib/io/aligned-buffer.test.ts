// Which buffers may take an O_DIRECT read: only page-aligned ones of our own making, at aligned offsets and
// lengths. A wrong "yes" would make the kernel refuse the read (EINVAL); a wrong "no" only costs a copy.
import { describe, expect, it } from "vitest";
import { DIRECT_IO_ALIGNMENT, allocPageAlignedBuffer, directReadFits } from "./aligned-buffer";
import { allocReadBuffer } from "./read-buffer";

describe("page-aligned buffers", () => {
  it("fit direct reads whole or cut on 4 KiB boundaries, at 4 KiB file offsets", () => {
    const buffer = allocPageAlignedBuffer(1024 * 1024);
    expect(buffer.length).toBe(1024 * 1024);
    expect(directReadFits(buffer, 0)).toBe(true);
    expect(directReadFits(buffer.subarray(DIRECT_IO_ALIGNMENT, 3 * DIRECT_IO_ALIGNMENT), 64 * 1024)).toBe(true);
  });

  it("do not fit at an unaligned offset, length or start, and ordinary buffers never fit", () => {
    const buffer = allocPageAlignedBuffer(1024 * 1024);
    expect(directReadFits(buffer, 512)).toBe(false);
    expect(directReadFits(buffer.subarray(0, 1000), 0)).toBe(false);
    expect(directReadFits(buffer.subarray(512, 512 + DIRECT_IO_ALIGNMENT), 0)).toBe(false);
    expect(directReadFits(buffer.subarray(0, 0), 0)).toBe(false);
    expect(directReadFits(allocReadBuffer(1024 * 1024), 0)).toBe(false);
    expect(directReadFits(Buffer.alloc(DIRECT_IO_ALIGNMENT), 0)).toBe(false);
  });

  it("refuses a size that is not a positive whole number", () => {
    expect(() => allocPageAlignedBuffer(0)).toThrow(RangeError);
    expect(() => allocPageAlignedBuffer(1.5)).toThrow(RangeError);
  });
});
