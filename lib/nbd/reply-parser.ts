import { NbdError, errorFromServerErrno } from "./errors";
import {
  NBD_CMD_BLOCK_STATUS,
  NBD_CMD_READ,
  NBD_REPLY_FLAG_DONE,
  NBD_REPLY_TYPE_BLOCK_STATUS,
  NBD_REPLY_TYPE_ERROR_BIT,
  NBD_REPLY_TYPE_ERROR_OFFSET,
  NBD_REPLY_TYPE_NONE,
  NBD_REPLY_TYPE_OFFSET_DATA,
  NBD_REPLY_TYPE_OFFSET_HOLE,
  NBD_SIMPLE_REPLY_MAGIC,
  NBD_STRUCTURED_REPLY_MAGIC,
  SIMPLE_REPLY_HEADER_SIZE,
  STRUCTURED_REPLY_HEADER_SIZE,
} from "./protocol";
import { type Request, describe } from "./request";
import type { InputConsumer } from "./socket-input";
import { readUint64 } from "./wire";

/** What the parser needs from the connection it parses for. */
export interface ReplySink {
  readonly structuredReplies: boolean;
  /** The in-flight request with this handle, or undefined. */
  lookup(handle: number): Request | undefined;
  /** The server has sent the last reply message for `req`. */
  finish(req: Request, error: NbdError | null): void;
  /** The stream cannot be parsed any further; the connection has to go. */
  fail(err: NbdError): void;
}

// Block status payloads are 8 bytes per extent; this allows ~8M extents, far beyond a sane reply.
const MAX_BLOCK_STATUS_PAYLOAD = 64 * 1024 * 1024;
// Error chunks hold an errno, a message of at most 4 KiB, and maybe an offset.
const MAX_ERROR_PAYLOAD = 64 * 1024;
/**
 * Socket reads land here unless a READ payload of at least DIRECT_READ_MIN bytes is due, which is read
 * straight into its destination. Large enough to take many small replies (writes, block status) per
 * syscall; what it catches of a large payload's start is copied once.
 */
const STAGING_SIZE = 64 * 1024;
const DIRECT_READ_MIN = 32 * 1024;

// What the next `need` bytes are.
const STEP_HEADER = 0; // the 16 bytes a simple reply and a structured chunk header have in common
const STEP_CHUNK_LENGTH = 1; // the rest of a structured chunk header
const STEP_DATA_OFFSET = 2;
const STEP_HOLE = 3;
const STEP_BLOCK_STATUS = 4;
const STEP_ERROR = 5;
const STEP_DATA = 6; // payload bytes going to dataTarget (counted by dataLeft, not need)

/**
 * The transmission-phase reply stream as a synchronous state machine fed by socket reads.
 *
 * Every byte is handled in the read callback that delivers it: no promise or closure per field, no
 * reassembly of the stream. READ payloads (simple replies and OFFSET_DATA chunks) are written into the
 * caller's buffer; while one is due, nextBuffer() hands the socket the unfilled part of that buffer so
 * the kernel copies the data straight to its destination.
 */
export class ReplyParser implements InputConsumer {
  private readonly staging = Buffer.allocUnsafe(STAGING_SIZE);
  /** Field bytes gathered across reads; grown for large block status payloads. */
  private field = Buffer.allocUnsafe(256);
  private fieldLength = 0;
  private step = STEP_HEADER;
  private need = SIMPLE_REPLY_HEADER_SIZE;

  // The structured chunk (or simple reply) being parsed.
  private req: Request | null = null;
  private chunkFlags = 0;
  private chunkType = 0;
  private chunkLength = 0;
  private simple = false;

  // STEP_DATA: where payload bytes go.
  private dataTarget: Buffer | null = null;
  private dataAt = 0;
  private dataLeft = 0;
  /** The last buffer handed to the socket is dataTarget[dataAt ..]: its bytes are already in place. */
  private direct = false;
  private failed = false;

  constructor(private readonly sink: ReplySink) {}

  nextBuffer(): Buffer {
    if (this.step === STEP_DATA && this.dataLeft >= DIRECT_READ_MIN && this.dataTarget && !this.failed) {
      this.direct = true;
      return this.dataTarget.subarray(this.dataAt, this.dataAt + this.dataLeft);
    }
    this.direct = false;
    return this.staging;
  }

  consume(buf: Buffer, n: number): void {
    if (this.failed) return;
    try {
      if (this.direct) {
        // The kernel wrote these bytes into dataTarget at dataAt already.
        this.direct = false;
        this.dataAt += n;
        this.dataLeft -= n;
        if (this.dataLeft === 0) this.endData();
        return;
      }
      this.parse(buf, 0, n);
    } catch (err) {
      this.failed = true;
      this.sink.fail(
        err instanceof NbdError
          ? err
          : new NbdError("PROTOCOL", `reply handling failed: ${String(err)}`, { cause: err }),
      );
    }
  }

  /** The socket may be reading `req`'s payload into its target right now. */
  isReceivingDataFor(req: Request): boolean {
    return this.step === STEP_DATA && this.req === req && this.dataTarget !== null;
  }

  /** True while a reply has been partly received (the stream ending now loses it). */
  get midReply(): boolean {
    return this.step !== STEP_HEADER || this.fieldLength > 0;
  }

  private parse(buf: Buffer, start: number, end: number): void {
    let at = start;
    while (at < end && !this.failed) {
      if (this.step === STEP_DATA) {
        const n = Math.min(this.dataLeft, end - at);
        if (this.dataTarget) buf.copy(this.dataTarget, this.dataAt, at, at + n);
        at += n;
        this.dataAt += n;
        this.dataLeft -= n;
        if (this.dataLeft === 0) this.endData();
        continue;
      }
      const need = this.need;
      if (this.fieldLength === 0 && end - at >= need) {
        // The whole field is in this read: parse it in place.
        const fieldEnd = at + need;
        this.onField(buf.subarray(at, fieldEnd));
        at = fieldEnd;
        continue;
      }
      if (this.field.length < need) {
        const grown = Buffer.allocUnsafe(need);
        this.field.copy(grown, 0, 0, this.fieldLength);
        this.field = grown;
      }
      const n = Math.min(need - this.fieldLength, end - at);
      buf.copy(this.field, this.fieldLength, at, at + n);
      this.fieldLength += n;
      at += n;
      if (this.fieldLength === need) {
        this.fieldLength = 0;
        this.onField(this.field.subarray(0, need));
        // Do not keep a huge block status buffer around.
        if (this.field.length > STAGING_SIZE) this.field = Buffer.allocUnsafe(256);
      }
    }
  }

  private expect(step: number, need: number): void {
    this.step = step;
    this.need = need;
  }

  private onField(field: Buffer): void {
    switch (this.step) {
      case STEP_HEADER:
        return this.onHeader(field);
      case STEP_CHUNK_LENGTH:
        return this.onChunkLength(field.readUInt32BE(0));
      case STEP_DATA_OFFSET:
        return this.onDataOffset(field);
      case STEP_HOLE:
        return this.onHole(field);
      case STEP_BLOCK_STATUS:
        return this.onBlockStatus(field);
      case STEP_ERROR:
        return this.onError(field);
    }
  }

  private onHeader(header: Buffer): void {
    const magic = header.readUInt32BE(0);
    if (magic !== NBD_SIMPLE_REPLY_MAGIC && magic !== NBD_STRUCTURED_REPLY_MAGIC) {
      throw new NbdError("PROTOCOL", `bad reply magic 0x${magic.toString(16)}`);
    }
    const high = header.readUInt32BE(8);
    const low = header.readUInt32BE(12);
    const req = high < 0x200000 ? this.sink.lookup(high * 2 ** 32 + low) : undefined;
    if (!req) throw new NbdError("PROTOCOL", `reply for unknown handle ${header.readBigUInt64BE(8)}`);
    this.req = req;

    if (magic === NBD_SIMPLE_REPLY_MAGIC) {
      this.simple = true;
      const errno = header.readUInt32BE(4);
      if (errno !== 0) {
        // No payload follows an error, even for READ.
        this.endReply(errorFromServerErrno(errno, describe(req)));
      } else if (req.type === NBD_CMD_READ && req.target) {
        // Structured servers must not do this for READ, but the data is unambiguous, so accept it.
        this.startData(req.target, req.targetOffset, req.length);
      } else {
        this.endReply(null);
      }
      return;
    }
    if (!this.sink.structuredReplies) throw new NbdError("PROTOCOL", "structured reply without negotiation");
    this.simple = false;
    this.chunkFlags = header.readUInt16BE(4);
    this.chunkType = header.readUInt16BE(6);
    this.expect(STEP_CHUNK_LENGTH, STRUCTURED_REPLY_HEADER_SIZE - SIMPLE_REPLY_HEADER_SIZE);
  }

  private onChunkLength(length: number): void {
    const req = this.current();
    const type = this.chunkType;
    this.chunkLength = length;
    if (type === NBD_REPLY_TYPE_NONE) {
      if (length !== 0) throw new NbdError("PROTOCOL", "NBD_REPLY_TYPE_NONE with a payload");
      this.endChunk();
    } else if (type === NBD_REPLY_TYPE_OFFSET_DATA) {
      if (length < 9) throw new NbdError("PROTOCOL", "NBD_REPLY_TYPE_OFFSET_DATA shorter than 9 bytes");
      this.expect(STEP_DATA_OFFSET, 8);
    } else if (type === NBD_REPLY_TYPE_OFFSET_HOLE) {
      if (length !== 12) throw new NbdError("PROTOCOL", "NBD_REPLY_TYPE_OFFSET_HOLE must be 12 bytes");
      this.expect(STEP_HOLE, 12);
    } else if (type === NBD_REPLY_TYPE_BLOCK_STATUS) {
      if (req.type !== NBD_CMD_BLOCK_STATUS)
        throw new NbdError("PROTOCOL", `block status chunk in reply to ${describe(req)}`);
      if (length < 12 || (length - 4) % 8 !== 0 || length > MAX_BLOCK_STATUS_PAYLOAD) {
        throw new NbdError("PROTOCOL", `block status chunk has invalid length ${length}`);
      }
      this.expect(STEP_BLOCK_STATUS, length);
    } else if (type & NBD_REPLY_TYPE_ERROR_BIT) {
      // Includes error types we do not know: the spec says treat them as errors and carry on.
      if (length < 6 || length > MAX_ERROR_PAYLOAD)
        throw new NbdError("PROTOCOL", `error chunk has invalid length ${length}`);
      this.expect(STEP_ERROR, length);
    } else {
      throw new NbdError("PROTOCOL", `unknown structured reply type ${type} for ${describe(req)}`);
    }
  }

  /** Where in req.target a chunk for export offset `offset` of `size` bytes goes; throws if outside the request. */
  private placeInRead(req: Request, offset: number, size: number, what: string): number {
    if (req.type !== NBD_CMD_READ || !req.target)
      throw new NbdError("PROTOCOL", `${what} chunk in reply to ${describe(req)}`);
    if (size < 1 || offset < req.offset || offset + size > req.offset + req.length) {
      throw new NbdError("PROTOCOL", `${what} chunk ${size} bytes at ${offset} lies outside ${describe(req)}`);
    }
    return req.targetOffset + (offset - req.offset);
  }

  private onDataOffset(field: Buffer): void {
    const req = this.current();
    const offset = readUint64(field, 0, "data chunk offset");
    const size = this.chunkLength - 8;
    const at = this.placeInRead(req, offset, size, "data");
    this.startData(req.target as Buffer, at, size);
  }

  private onHole(payload: Buffer): void {
    const req = this.current();
    const offset = readUint64(payload, 0, "hole chunk offset");
    const size = payload.readUInt32BE(8);
    const at = this.placeInRead(req, offset, size, "hole");
    // Target buffers are allocated uninitialised for speed, so holes must be zeroed explicitly (unless the
    // request timed out: then the buffer is the caller's again).
    if (!req.settled) (req.target as Buffer).fill(0, at, at + size);
    req.covered += size;
    this.endChunk();
  }

  private onBlockStatus(payload: Buffer): void {
    const req = this.current();
    const contextId = payload.readUInt32BE(0);
    req.extents ??= new Map();
    const list = req.extents.get(contextId) ?? [];
    for (let at = 4; at < payload.length; at += 8) {
      const extentLength = payload.readUInt32BE(at);
      if (extentLength === 0) throw new NbdError("PROTOCOL", "block status descriptor with zero length");
      list.push({ length: extentLength, flags: payload.readUInt32BE(at + 4) });
    }
    req.extents.set(contextId, list);
    this.endChunk();
  }

  private onError(payload: Buffer): void {
    const req = this.current();
    const length = payload.length;
    const errno = payload.readUInt32BE(0);
    const messageLength = payload.readUInt16BE(4);
    if (6 + messageLength > length) throw new NbdError("PROTOCOL", "error chunk message overruns the chunk");
    const message = payload.toString("utf8", 6, 6 + messageLength);
    let offset: number | undefined;
    if (this.chunkType === NBD_REPLY_TYPE_ERROR_OFFSET) {
      if (length < 6 + messageLength + 8)
        throw new NbdError("PROTOCOL", "NBD_REPLY_TYPE_ERROR_OFFSET without an offset");
      offset = readUint64(payload, 6 + messageLength, "error offset");
    }
    // Keep the first error: later ones are usually consequences of it.
    req.error ??= errorFromServerErrno(errno, describe(req), message, offset);
    this.endChunk();
  }

  private startData(target: Buffer, at: number, size: number): void {
    // A late reply (the request timed out) is consumed but lands nowhere: the caller may have reused its buffer.
    this.dataTarget = this.current().settled ? null : target;
    this.dataAt = at;
    this.dataLeft = size;
    this.step = STEP_DATA;
    if (size === 0) this.endData();
  }

  private endData(): void {
    const req = this.current();
    if (this.simple) req.covered = req.length;
    else req.covered += this.chunkLength - 8;
    this.dataTarget = null;
    if (this.simple) this.endReply(null);
    else this.endChunk();
  }

  private endChunk(): void {
    if (this.chunkFlags & NBD_REPLY_FLAG_DONE) this.endReply(null);
    else this.resetToHeader();
  }

  private endReply(error: NbdError | null): void {
    const req = this.current();
    this.resetToHeader();
    this.sink.finish(req, error);
  }

  private resetToHeader(): void {
    this.req = null;
    this.expect(STEP_HEADER, SIMPLE_REPLY_HEADER_SIZE);
  }

  private current(): Request {
    if (!this.req) throw new NbdError("PROTOCOL", "internal error: reply field without a request");
    return this.req;
  }
}
