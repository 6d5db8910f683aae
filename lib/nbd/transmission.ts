import type { Socket } from "node:net";
import type { ByteReader } from "./byte-reader";
import { NbdError, errorFromServerErrno } from "./errors";
import type { ExportInfo } from "./handshake";
import {
  NBD_CMD_BLOCK_STATUS,
  NBD_CMD_DISC,
  NBD_CMD_FLUSH,
  NBD_CMD_READ,
  NBD_CMD_TRIM,
  NBD_CMD_WRITE,
  NBD_CMD_WRITE_ZEROES,
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
import { encodeRequest, readUint64 } from "./wire";

/** One block status descriptor as sent by the server: a length (from the previous one's end) and flags. */
export interface BlockDescriptor {
  length: number;
  flags: number;
}

export interface TransmissionOptions {
  /** Requests on the wire at once; more wait in a local queue (no round trip each). */
  maxInFlight: number;
  /** Per-request deadline from submission; undefined means wait as long as the connection lives. */
  requestTimeoutMs: number | undefined;
}

interface Request {
  handle: number;
  type: number;
  flags: number;
  offset: number;
  length: number;
  /** WRITE: bytes sent after the header. */
  payload: Buffer | null;
  /** READ: where the reply's data lands (target[targetOffset .. +length]). */
  target: Buffer | null;
  targetOffset: number;
  /** READ: bytes supplied so far by data and hole chunks, to detect short replies. */
  covered: number;
  /** BLOCK_STATUS: descriptors per meta context id. */
  extents: Map<number, BlockDescriptor[]>;
  /** First error chunk; a structured reply keeps going until DONE even after an error. */
  error: NbdError | null;
  /** The caller's promise has been settled (timeout or failure); a late reply is then just consumed. */
  settled: boolean;
  timer: NodeJS.Timeout | null;
  resolve: () => void;
  reject: (err: NbdError) => void;
}

const COMMAND_NAMES: Record<number, string> = {
  [NBD_CMD_READ]: "READ",
  [NBD_CMD_WRITE]: "WRITE",
  [NBD_CMD_DISC]: "DISC",
  [NBD_CMD_FLUSH]: "FLUSH",
  [NBD_CMD_TRIM]: "TRIM",
  [NBD_CMD_WRITE_ZEROES]: "WRITE_ZEROES",
  [NBD_CMD_BLOCK_STATUS]: "BLOCK_STATUS",
};

function describe(req: Pick<Request, "type" | "offset" | "length">): string {
  const name = COMMAND_NAMES[req.type] ?? `command ${req.type}`;
  return req.type === NBD_CMD_FLUSH ? name : `${name} ${req.length} bytes at offset ${req.offset}`;
}

// Block status payloads are 8 bytes per extent; this allows ~8M extents, far beyond a sane reply.
const MAX_BLOCK_STATUS_PAYLOAD = 64 * 1024 * 1024;
// Error chunks hold an errno, a message of at most 4 KiB, and maybe an offset.
const MAX_ERROR_PAYLOAD = 64 * 1024;

type State = "open" | "closing" | "closed";

/**
 * The transmission phase of one connection: sends requests, matches replies to them by
 * handle, and guarantees that every request settles — with its reply, with a timeout, or
 * with the error that ended the connection.
 *
 * Replies are read by a single async loop; request sending never waits for replies, so any
 * number of requests (up to maxInFlight) are outstanding at once.
 */
export class Transmission {
  private state: State = "open";
  private terminalError: NbdError | null = null;
  private nextHandle = 1;
  private readonly inFlight = new Map<number, Request>();
  // FIFO of requests not yet sent; `queueHead` avoids O(n) shifts when thousands are queued.
  private queue: Request[] = [];
  private queueHead = 0;
  private discSent = false;
  private serverShuttingDown = false;
  private idleWaiters: Array<() => void> = [];
  private closePromise: Promise<void> | null = null;

  constructor(
    private readonly socket: Socket,
    private readonly reader: ByteReader,
    private readonly info: ExportInfo,
    private readonly options: TransmissionOptions,
  ) {
    socket.on("error", (err) => this.fail(new NbdError("ECONNRESET", `NBD connection error: ${err.message}`, { cause: err })));
    // 'end' arrives as soon as the peer is gone (e.g. SIGKILL); do not wait for 'close'.
    socket.on("end", () => this.onSocketGone());
    socket.on("close", () => this.onSocketGone());
    void this.receiveLoop();
  }

  /** Requests queued or on the wire. */
  get pending(): number {
    return this.inFlight.size + (this.queue.length - this.queueHead);
  }

  get isOpen(): boolean {
    return this.state === "open";
  }

  read(offset: number, length: number, target: Buffer, targetOffset: number): Promise<void> {
    return this.submit({ type: NBD_CMD_READ, flags: 0, offset, length, target, targetOffset }).then(() => undefined);
  }

  write(offset: number, payload: Buffer, flags: number): Promise<void> {
    return this.submit({ type: NBD_CMD_WRITE, flags, offset, length: payload.length, payload }).then(() => undefined);
  }

  /** Commands with no payload in either direction: FLUSH, WRITE_ZEROES, TRIM. */
  command(type: number, flags: number, offset: number, length: number): Promise<void> {
    return this.submit({ type, flags, offset, length }).then(() => undefined);
  }

  blockStatus(offset: number, length: number, flags: number): Promise<Map<number, BlockDescriptor[]>> {
    return this.submit({ type: NBD_CMD_BLOCK_STATUS, flags, offset, length }).then((req) => req.extents);
  }

  /**
   * Soft disconnect: stop accepting requests, let outstanding ones finish (up to timeoutMs),
   * send NBD_CMD_DISC and wait briefly for the server to hang up.
   */
  close(timeoutMs: number): Promise<void> {
    if (this.closePromise) return this.closePromise;
    if (this.state === "closed") return Promise.resolve();
    this.state = "closing";
    this.closePromise = (async () => {
      await this.waitIdle(timeoutMs);
      if (this.state === "closed") return;
      this.discSent = true;
      this.socket.write(encodeRequest({ flags: 0, type: NBD_CMD_DISC, handle: this.nextHandle++, offset: 0, length: 0 }));
      this.socket.end();
      await this.waitClosed(Math.min(timeoutMs, 1000));
      this.fail(new NbdError("CLOSED", "NBD client closed"));
    })();
    return this.closePromise;
  }

  /** Hard disconnect: drop the socket now and reject everything outstanding. */
  destroy(reason: NbdError = new NbdError("CLOSED", "NBD client destroyed")): void {
    this.fail(reason);
  }

  private submit(spec: {
    type: number;
    flags: number;
    offset: number;
    length: number;
    payload?: Buffer;
    target?: Buffer;
    targetOffset?: number;
  }): Promise<Request> {
    if (this.state !== "open") {
      const base = this.terminalError ?? new NbdError("CLOSED", "NBD client is closing");
      return Promise.reject(new NbdError(base.code, `${describe(spec)}: ${base.message}`, { cause: base }));
    }
    if (this.serverShuttingDown) {
      return Promise.reject(new NbdError("ESHUTDOWN", `${describe(spec)}: server is shutting down`));
    }
    return new Promise<Request>((resolve, reject) => {
      const req: Request = {
        handle: this.nextHandle++,
        type: spec.type,
        flags: spec.flags,
        offset: spec.offset,
        length: spec.length,
        payload: spec.payload ?? null,
        target: spec.target ?? null,
        targetOffset: spec.targetOffset ?? 0,
        covered: 0,
        extents: new Map(),
        error: null,
        settled: false,
        timer: null,
        resolve: () => resolve(req),
        reject,
      };
      const timeoutMs = this.options.requestTimeoutMs;
      if (timeoutMs !== undefined) {
        req.timer = setTimeout(() => {
          // The handle stays reserved until the server answers, so a late reply is recognised and dropped.
          this.settle(req, new NbdError("TIMEOUT", `${describe(req)}: no reply within ${timeoutMs} ms`));
        }, timeoutMs);
      }
      this.queue.push(req);
      this.pump();
    });
  }

  /** Moves queued requests onto the wire while there is room; corked so a burst becomes few syscalls. */
  private pump(): void {
    if (this.state === "closed") return;
    if (this.queueHead === this.queue.length) return;
    this.socket.cork();
    try {
      while (this.inFlight.size < this.options.maxInFlight && this.queueHead < this.queue.length) {
        const req = this.queue[this.queueHead++];
        if (!req || req.settled) continue; // timed out while still queued: never sent
        this.inFlight.set(req.handle, req);
        this.socket.write(encodeRequest(req));
        if (req.payload) this.socket.write(req.payload);
      }
    } finally {
      this.socket.uncork();
    }
    if (this.queueHead === this.queue.length) {
      this.queue = [];
      this.queueHead = 0;
    } else if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
  }

  private async receiveLoop(): Promise<void> {
    try {
      for (;;) {
        const header = await this.reader.read(SIMPLE_REPLY_HEADER_SIZE);
        const magic = header.readUInt32BE(0);
        if (magic === NBD_SIMPLE_REPLY_MAGIC) {
          await this.onSimpleReply(header.readUInt32BE(4), this.lookup(header));
        } else if (magic === NBD_STRUCTURED_REPLY_MAGIC) {
          const rest = await this.reader.read(STRUCTURED_REPLY_HEADER_SIZE - SIMPLE_REPLY_HEADER_SIZE);
          const flags = header.readUInt16BE(4);
          const type = header.readUInt16BE(6);
          await this.onChunk(flags, type, rest.readUInt32BE(0), this.lookup(header));
        } else {
          throw new NbdError("PROTOCOL", `bad reply magic 0x${magic.toString(16)}`);
        }
      }
    } catch (err) {
      // Reader failures already carry the reason the socket went away; anything else is a bug or a protocol violation.
      this.fail(err instanceof NbdError ? err : new NbdError("PROTOCOL", `reply handling failed: ${String(err)}`, { cause: err }));
    }
  }

  private lookup(header: Buffer): Request {
    const handle = header.readBigUInt64BE(8);
    const req = handle <= BigInt(Number.MAX_SAFE_INTEGER) ? this.inFlight.get(Number(handle)) : undefined;
    if (!req) throw new NbdError("PROTOCOL", `reply for unknown handle ${handle}`);
    return req;
  }

  private async onSimpleReply(errno: number, req: Request): Promise<void> {
    if (errno !== 0) {
      // No payload follows an error, even for READ.
      this.finish(req, errorFromServerErrno(errno, describe(req)));
      return;
    }
    if (req.type === NBD_CMD_READ && req.target) {
      // Structured servers must not do this for READ, but the data is unambiguous, so accept it.
      await this.reader.readInto(req.target, req.targetOffset, req.length);
      req.covered = req.length;
    }
    this.finish(req, null);
  }

  private async onChunk(flags: number, type: number, length: number, req: Request): Promise<void> {
    if (!this.info.structuredReplies) throw new NbdError("PROTOCOL", "structured reply without negotiation");

    if (type === NBD_REPLY_TYPE_NONE) {
      if (length !== 0) throw new NbdError("PROTOCOL", "NBD_REPLY_TYPE_NONE with a payload");
    } else if (type === NBD_REPLY_TYPE_OFFSET_DATA) {
      await this.onDataChunk(req, length);
    } else if (type === NBD_REPLY_TYPE_OFFSET_HOLE) {
      await this.onHoleChunk(req, length);
    } else if (type === NBD_REPLY_TYPE_BLOCK_STATUS) {
      await this.onBlockStatusChunk(req, length);
    } else if (type & NBD_REPLY_TYPE_ERROR_BIT) {
      // Includes error types we do not know: the spec says treat them as errors and carry on.
      await this.onErrorChunk(req, type, length);
    } else {
      throw new NbdError("PROTOCOL", `unknown structured reply type ${type} for ${describe(req)}`);
    }

    if (flags & NBD_REPLY_FLAG_DONE) this.finish(req, null);
  }

  /** Where in req.target a chunk for export offset `offset` of `size` bytes goes; throws if outside the request. */
  private placeInRead(req: Request, offset: number, size: number, what: string): number {
    if (req.type !== NBD_CMD_READ || !req.target) throw new NbdError("PROTOCOL", `${what} chunk in reply to ${describe(req)}`);
    if (size < 1 || offset < req.offset || offset + size > req.offset + req.length) {
      throw new NbdError("PROTOCOL", `${what} chunk ${size} bytes at ${offset} lies outside ${describe(req)}`);
    }
    return req.targetOffset + (offset - req.offset);
  }

  private async onDataChunk(req: Request, length: number): Promise<void> {
    if (length < 9) throw new NbdError("PROTOCOL", "NBD_REPLY_TYPE_OFFSET_DATA shorter than 9 bytes");
    const offset = readUint64(await this.reader.read(8), 0, "data chunk offset");
    const size = length - 8;
    const at = this.placeInRead(req, offset, size, "data");
    // Copy straight from socket buffers into the caller's buffer: one copy per byte, no reassembly.
    await this.reader.readInto(req.target as Buffer, at, size);
    req.covered += size;
  }

  private async onHoleChunk(req: Request, length: number): Promise<void> {
    if (length !== 12) throw new NbdError("PROTOCOL", "NBD_REPLY_TYPE_OFFSET_HOLE must be 12 bytes");
    const payload = await this.reader.read(12);
    const offset = readUint64(payload, 0, "hole chunk offset");
    const size = payload.readUInt32BE(8);
    const at = this.placeInRead(req, offset, size, "hole");
    // Target buffers are allocated uninitialised for speed, so holes must be zeroed explicitly.
    (req.target as Buffer).fill(0, at, at + size);
    req.covered += size;
  }

  private async onBlockStatusChunk(req: Request, length: number): Promise<void> {
    if (req.type !== NBD_CMD_BLOCK_STATUS) throw new NbdError("PROTOCOL", `block status chunk in reply to ${describe(req)}`);
    if (length < 12 || (length - 4) % 8 !== 0 || length > MAX_BLOCK_STATUS_PAYLOAD) {
      throw new NbdError("PROTOCOL", `block status chunk has invalid length ${length}`);
    }
    const payload = await this.reader.read(length);
    const contextId = payload.readUInt32BE(0);
    const list = req.extents.get(contextId) ?? [];
    for (let at = 4; at < length; at += 8) {
      const extentLength = payload.readUInt32BE(at);
      if (extentLength === 0) throw new NbdError("PROTOCOL", "block status descriptor with zero length");
      list.push({ length: extentLength, flags: payload.readUInt32BE(at + 4) });
    }
    req.extents.set(contextId, list);
  }

  private async onErrorChunk(req: Request, type: number, length: number): Promise<void> {
    if (length < 6 || length > MAX_ERROR_PAYLOAD) throw new NbdError("PROTOCOL", `error chunk has invalid length ${length}`);
    const payload = await this.reader.read(length);
    const errno = payload.readUInt32BE(0);
    const messageLength = payload.readUInt16BE(4);
    if (6 + messageLength > length) throw new NbdError("PROTOCOL", "error chunk message overruns the chunk");
    const message = payload.toString("utf8", 6, 6 + messageLength);
    let offset: number | undefined;
    if (type === NBD_REPLY_TYPE_ERROR_OFFSET) {
      if (length < 6 + messageLength + 8) throw new NbdError("PROTOCOL", "NBD_REPLY_TYPE_ERROR_OFFSET without an offset");
      offset = readUint64(payload, 6 + messageLength, "error offset");
    }
    // Keep the first error: later ones are usually consequences of it.
    req.error ??= errorFromServerErrno(errno, describe(req), message, offset);
  }

  /** The server has sent the last reply message for `req`. */
  private finish(req: Request, error: NbdError | null): void {
    this.inFlight.delete(req.handle);
    let outcome = error ?? req.error;
    if (!outcome && req.type === NBD_CMD_READ && req.covered !== req.length) {
      outcome = new NbdError("PROTOCOL", `${describe(req)}: server reply covered only ${req.covered} bytes`);
    }
    if (!outcome && req.type === NBD_CMD_BLOCK_STATUS && req.extents.size === 0) {
      outcome = new NbdError("PROTOCOL", `${describe(req)}: server sent no block status`);
    }
    this.settle(req, outcome);
    if (outcome?.code === "ESHUTDOWN") this.onServerShutdown();
    this.pump();
    this.notifyIfIdle();
  }

  private settle(req: Request, error: NbdError | null): void {
    if (req.timer) clearTimeout(req.timer);
    req.timer = null;
    if (req.settled) return;
    req.settled = true;
    if (error) req.reject(error);
    else req.resolve();
  }

  /** The spec requires a soft disconnect once the server says it is shutting down. */
  private onServerShutdown(): void {
    if (this.serverShuttingDown) return;
    this.serverShuttingDown = true;
    for (let i = this.queueHead; i < this.queue.length; i++) {
      const req = this.queue[i];
      if (req) this.settle(req, new NbdError("ESHUTDOWN", `${describe(req)}: server is shutting down`));
    }
    this.queue = [];
    this.queueHead = 0;
    void this.close(5000);
  }

  /**
   * The server hung up. Replies it sent before hanging up are still processed by the receive
   * loop; the loop then hits the end of the stream and fails whatever is left via fail().
   */
  private onSocketGone(): void {
    if (this.discSent) {
      this.reader.end(new NbdError("CLOSED", "NBD connection closed after disconnect"));
    } else {
      this.reader.end(new NbdError("ECONNRESET", "NBD server closed the connection"));
    }
  }

  /** Ends the connection for good; every unsettled request is rejected with `err`. Idempotent. */
  private fail(err: NbdError): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.terminalError = err;
    this.reader.fail(err);
    this.socket.destroy();
    const victims = [...this.inFlight.values(), ...this.queue.slice(this.queueHead)];
    this.inFlight.clear();
    this.queue = [];
    this.queueHead = 0;
    for (const req of victims) {
      this.settle(req, new NbdError(err.code, `${describe(req)}: ${err.message}`, { cause: err }));
    }
    this.notifyIfIdle();
  }

  private notifyIfIdle(): void {
    if (this.pending > 0 && this.state !== "closed") return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }

  private waitIdle(timeoutMs: number): Promise<void> {
    if (this.pending === 0 || this.state === "closed") return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private waitClosed(timeoutMs: number): Promise<void> {
    if (this.socket.destroyed || this.state === "closed") return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.socket.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
