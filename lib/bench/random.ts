// Deterministic randomness for benchmark disks: the same seed builds the same content and the same changes.
import { createCipheriv, createHash } from "node:crypto";

/** A small seeded PRNG (sfc32) for positions and choices; not for content (see RandomBytes). */
export class SeededRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: string | number) {
    const digest = createHash("sha256").update(`prng:${seed}`).digest();
    this.a = digest.readUInt32LE(0);
    this.b = digest.readUInt32LE(4);
    this.c = digest.readUInt32LE(8);
    this.d = digest.readUInt32LE(12);
    for (let i = 0; i < 16; i++) this.nextUint32();
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return (this.nextUint32() * 2 ** 21 + (this.nextUint32() >>> 11)) / 2 ** 53;
  }

  /** Uniform integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** `count` distinct integers from [0, n), in ascending order. */
  sample(n: number, count: number): number[] {
    if (count > n) throw new Error(`cannot pick ${count} distinct values below ${n}`);
    // Floyd's algorithm: exactly `count` draws, no rejection loop, memory O(count).
    const chosen = new Set<number>();
    for (let j = n - count; j < n; j++) {
      const t = this.below(j + 1);
      chosen.add(chosen.has(t) ? j : t);
    }
    return [...chosen].sort((x, y) => x - y);
  }
}

/**
 * Incompressible pseudo-random bytes from AES-128-CTR (several GB/s with AES-NI), seeded: a stream of
 * "real" data that no hash, compressor or delta algorithm can shortcut.
 */
export class RandomBytes {
  private readonly cipher;
  private zeroes = Buffer.alloc(0);

  constructor(seed: string | number) {
    const digest = createHash("sha256").update(`bytes:${seed}`).digest();
    this.cipher = createCipheriv("aes-128-ctr", digest.subarray(0, 16), digest.subarray(16, 32));
  }

  /** The next `length` bytes of the stream, in a fresh buffer. */
  next(length: number): Buffer {
    if (this.zeroes.length < length) this.zeroes = Buffer.alloc(length);
    return this.cipher.update(this.zeroes.subarray(0, length));
  }
}
