import type { Socket } from "node:net";
import { NbdError } from "./errors";
import type { ExportInfo } from "./handshake";
import { NBD_CMD_BLOCK_STATUS, NBD_CMD_DISC, NBD_CMD_READ, NBD_CMD_WRITE } from "./protocol";
import { ReplyParser } from "./reply-parser";
import { type BlockDescriptor, type Request, describe } from "./request";
import type { SocketInput } from "./socket-input";
import { encodeRequest } from "./wire";

export type { BlockDescriptor } from "./request";

export interface TransmissionOptions {
  /** Requests on the wire at once; more wait in a local queue (no round trip each). */
  maxInFlight: number;
  /** Per-request deadline from submission; undefined means wait as long as the connection lives. */
  requestTimeoutMs: number | undefined;
}

const NO_EXTENTS: Map<number, BlockDescriptor[]> = new Map();

type State = "open" | "closing" | "closed";

/**
 * The transmission phase of one connection: sends requests, matches replies to them by
 * handle, and guarantees that every request settles — with its reply, with a timeout, or
 * with the error that ended the connection.
 *
 * Replies are parsed synchronously as socket reads arrive (ReplyParser, which also lands READ
 * payloads in the callers' buffers); request sending never waits for replies, so any number of
 * requests (up to maxInFlight) are outstanding at once.
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
  private readonly parser: ReplyParser;

  constructor(
    private readonly socket: Socket,
    input: SocketInput,
    info: ExportInfo,
    private readonly options: TransmissionOptions,
  ) {
    this.parser = new ReplyParser({
      structuredReplies: info.structuredReplies,
      lookup: (handle) => this.inFlight.get(handle),
      finish: (req, error) => this.finish(req, error),
      fail: (err) => this.fail(err),
    });
    socket.on("error", (err) =>
      this.fail(new NbdError("ECONNRESET", `NBD connection error: ${err.message}`, { cause: err })),
    );
    // 'end' arrives as soon as the peer is gone (e.g. SIGKILL); do not wait for 'close'.
    socket.on("end", () => this.onSocketGone());
    socket.on("close", () => this.onSocketGone());
    input.switchTo(this.parser);
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
    return this.submit({ type: NBD_CMD_BLOCK_STATUS, flags, offset, length }).then((req) => req.extents ?? NO_EXTENTS);
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
      this.socket.write(
        encodeRequest({ flags: 0, type: NBD_CMD_DISC, handle: this.nextHandle++, offset: 0, length: 0 }),
      );
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
        extents: null,
        error: null,
        settled: false,
        timer: null,
        resolve,
        reject,
      };
      const timeoutMs = this.options.requestTimeoutMs;
      if (timeoutMs !== undefined) {
        req.timer = setTimeout(() => {
          // The handle stays reserved until the server answers, so a late reply is recognised and dropped.
          this.settle(req, new NbdError("TIMEOUT", `${describe(req)}: no reply within ${timeoutMs} ms`));
          // Its payload may be arriving right now, with the socket already told to read into the caller's buffer,
          // which the caller is free to reuse once the promise has failed. Only closing the socket stops that.
          if (this.parser.isReceivingDataFor(req)) {
            this.fail(
              new NbdError("ECONNRESET", `connection dropped: ${describe(req)} timed out while its data was arriving`),
            );
          }
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

  /** The server has sent the last reply message for `req`. */
  private finish(req: Request, error: NbdError | null): void {
    this.inFlight.delete(req.handle);
    let outcome = error ?? req.error;
    if (!outcome && req.type === NBD_CMD_READ && req.covered !== req.length) {
      outcome = new NbdError("PROTOCOL", `${describe(req)}: server reply covered only ${req.covered} bytes`);
    }
    if (!outcome && req.type === NBD_CMD_BLOCK_STATUS && (req.extents?.size ?? 0) === 0) {
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
    else req.resolve(req);
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
   * The server hung up. Every reply it sent before hanging up has been handled already (replies are
   * parsed as they arrive); whatever is still outstanding fails.
   */
  private onSocketGone(): void {
    if (this.state === "closed") return;
    const lost = this.parser.midReply ? " in the middle of a reply" : "";
    if (this.discSent) this.fail(new NbdError("CLOSED", `NBD connection closed after disconnect${lost}`));
    else this.fail(new NbdError("ECONNRESET", `NBD server closed the connection${lost}`));
  }

  /** Ends the connection for good; every unsettled request is rejected with `err`. Idempotent. */
  private fail(err: NbdError): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.terminalError = err;
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
