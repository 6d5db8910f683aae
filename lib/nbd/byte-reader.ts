import { NbdError } from "./errors";

/**
 * Turns the socket's arbitrary-sized 'data' events into "give me exactly N bytes" reads.
 *
 * Both the handshake and the reply loop are written as straight-line async code
 * (`await reader.read(8)`), which is far easier to check against the protocol document than
 * a hand-rolled state machine. The owner feeds bytes in with push() and, when the stream
 * ends or errors, calls fail() so that whoever is waiting gets a typed error instead of
 * hanging forever.
 */
export class ByteReader {
  private chunks: Buffer[] = [];
  /** Bytes of chunks[0] already handed out. */
  private headOffset = 0;
  private buffered = 0;
  private waiter: { need: number; resolve: () => void; reject: (err: NbdError) => void } | null = null;
  private failure: NbdError | null = null;
  /** Set when the stream has ended: buffered bytes can still be read, nothing more will come. */
  private ended: NbdError | null = null;

  push(data: Buffer): void {
    if (this.failure || this.ended || data.length === 0) return;
    this.chunks.push(data);
    this.buffered += data.length;
    const waiter = this.waiter;
    if (waiter && this.buffered >= waiter.need) {
      this.waiter = null;
      waiter.resolve();
    }
  }

  /** Rejects the current and every future read; the first failure wins. */
  fail(err: NbdError): void {
    if (this.failure) return;
    this.failure = err;
    this.chunks = [];
    this.buffered = 0;
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.reject(err);
  }

  /**
   * The peer closed its side. Replies already received are still delivered (a server may send
   * its last replies and hang up at once); a read that needs more than is buffered fails with `err`.
   */
  end(err: NbdError): void {
    if (this.failure || this.ended) return;
    this.ended = err;
    const waiter = this.waiter;
    if (waiter && this.buffered < waiter.need) {
      this.waiter = null;
      waiter.reject(err);
    }
  }

  /** Why the stream is unusable (failed, or ended with nothing left to read), else null. */
  get failed(): NbdError | null {
    return this.failure ?? (this.ended && this.buffered === 0 ? this.ended : null);
  }

  /** Takes every buffered byte (for whoever reads the stream next); the reader is then empty. */
  drain(): Buffer[] {
    const out = this.chunks
      .map((chunk, i) => (i === 0 ? chunk.subarray(this.headOffset) : chunk))
      .filter((c) => c.length > 0);
    this.chunks = [];
    this.headOffset = 0;
    this.buffered = 0;
    return out;
  }

  /** Resolves with exactly `n` bytes. The buffer may share memory with socket data: copy before keeping it. */
  async read(n: number): Promise<Buffer> {
    await this.waitFor(n);
    // fail() may have run between the wake-up and now, discarding the buffer.
    if (this.failure) throw this.failure;
    return this.take(n);
  }

  /** Copies exactly `n` bytes into `target` at `targetOffset`. */
  async readInto(target: Buffer, targetOffset: number, n: number): Promise<void> {
    await this.waitFor(n);
    if (this.failure) throw this.failure;
    this.copyOut(target, targetOffset, n);
  }

  private waitFor(n: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.buffered >= n) return Promise.resolve();
    if (this.ended) return Promise.reject(this.ended);
    if (this.waiter)
      return Promise.reject(new NbdError("PROTOCOL", "internal error: concurrent reads on one connection"));
    return new Promise((resolve, reject) => {
      this.waiter = { need: n, resolve, reject };
    });
  }

  private take(n: number): Buffer {
    const head = this.chunks[0];
    if (head && head.length - this.headOffset >= n) {
      // Common case: the whole field sits in one socket chunk, no copy needed.
      const out = head.subarray(this.headOffset, this.headOffset + n);
      this.advance(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    this.copyOut(out, 0, n);
    return out;
  }

  /** Moves `n` buffered bytes into `target`. */
  private copyOut(target: Buffer, targetOffset: number, n: number): void {
    let written = 0;
    while (written < n) {
      const head = this.chunks[0];
      if (!head) throw new Error("ByteReader: buffered byte count out of sync");
      const step = Math.min(head.length - this.headOffset, n - written);
      head.copy(target, targetOffset + written, this.headOffset, this.headOffset + step);
      written += step;
      this.advance(step);
    }
  }

  private advance(n: number): void {
    this.buffered -= n;
    this.headOffset += n;
    const head = this.chunks[0];
    if (head && this.headOffset === head.length) {
      this.chunks.shift();
      this.headOffset = 0;
    }
  }
}
