import type { OnReadOpts } from "node:net";
import type { ByteReader } from "./byte-reader";

/** Whoever currently owns the bytes arriving on the socket. */
export interface InputConsumer {
  /** The memory the next socket read may fill (any length > 0). */
  nextBuffer(): Buffer;
  /** `n` bytes have arrived at the start of `buf`, which is the buffer nextBuffer() returned last. */
  consume(buf: Buffer, n: number): void;
}

// Handshake messages are small; the reads land here and are copied into the ByteReader.
const HANDSHAKE_BUFFER_SIZE = 16 * 1024;

/**
 * Receives socket data through `onread` (passed to net.createConnection) instead of 'data' events, so
 * that the owner chooses where each read lands: during the handshake a small scratch buffer whose bytes
 * are copied into the ByteReader, and in transmission the reply parser, which points reads of READ
 * payloads straight at the caller's destination buffer (no per-read allocation, no intermediate copy).
 */
export class SocketInput {
  private consumer: InputConsumer;

  constructor(private readonly handshakeReader: ByteReader) {
    const scratch = Buffer.allocUnsafe(HANDSHAKE_BUFFER_SIZE);
    this.consumer = {
      nextBuffer: () => scratch,
      // The scratch buffer is reused by the next read: the reader keeps a copy.
      consume: (buf, n) => handshakeReader.push(Buffer.from(buf.subarray(0, n))),
    };
  }

  readonly onread: OnReadOpts = {
    buffer: () => this.consumer.nextBuffer(),
    callback: (n: number, buf: Uint8Array) => {
      this.consumer.consume(buf as Buffer, n);
      return true;
    },
  };

  /**
   * Hands the stream to `consumer` (once the handshake is done). Bytes the handshake reader received
   * but nobody read are passed on first; a read already pointed at the scratch buffer still arrives
   * (as an ordinary buffer) at the new consumer.
   */
  switchTo(consumer: InputConsumer): void {
    this.consumer = consumer;
    for (const leftover of this.handshakeReader.drain()) consumer.consume(leftover, leftover.length);
  }
}
