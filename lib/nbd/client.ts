import net from "node:net";
import { allocReadBuffer } from "@/lib/io/read-buffer";
import { ByteReader } from "./byte-reader";
import { NbdError, errorFromSocket } from "./errors";
import { type Extent, coalesceExtents } from "./extents";
import { type ExportInfo, performHandshake } from "./handshake";
import {
  BASE_ALLOCATION,
  MAX_REQUEST_LENGTH,
  NBD_CMD_FLAG_FUA,
  NBD_CMD_FLAG_NO_HOLE,
  NBD_CMD_FLUSH,
  NBD_CMD_WRITE_ZEROES,
  NBD_FLAG_CAN_MULTI_CONN,
  NBD_FLAG_READ_ONLY,
  NBD_FLAG_SEND_FLUSH,
  NBD_FLAG_SEND_FUA,
  NBD_FLAG_SEND_WRITE_ZEROES,
} from "./protocol";
import { SocketInput } from "./socket-input";
import { Transmission } from "./transmission";

/** Where the server listens: a unix socket path, or TCP host and port (default 10809). */
export type NbdTarget =
  { socketPath: string; host?: undefined; port?: undefined } | { host: string; port?: number; socketPath?: undefined };

export type NbdConnectOptions = NbdTarget & {
  /** Export to attach to; "" is the server's default export. */
  exportName?: string;
  /** e.g. ["base:allocation", "qemu:dirty-bitmap:cbt"]; needed for blockStatus(). */
  metaContexts?: readonly string[];
  /** By default connect() fails (ENOTSUP) if the server does not grant every requested context. */
  allowMissingMetaContexts?: boolean;
  /** Limit for TCP/unix connect plus the whole handshake. Default 10 s. */
  connectTimeoutMs?: number;
  /** Deadline per request, counted from the call. Default: none (the connection dying still rejects). */
  requestTimeoutMs?: number;
  /** Requests on the wire at once; further ones queue locally. Default 64. */
  maxInFlight?: number;
};

export interface WriteOptions {
  /** Force unit access: the reply comes only once the data is on stable storage. */
  fua?: boolean;
}

export interface WriteZeroesOptions extends WriteOptions {
  /** Ask the server to allocate (write real zeroes) rather than punch a hole. */
  noHole?: boolean;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_IN_FLIGHT = 64;
const DEFAULT_CLOSE_TIMEOUT_MS = 10_000;
const NBD_DEFAULT_PORT = 10809;

/**
 * An NBD client attached to one export.
 *
 *   const c = await NbdClient.connect({ socketPath, exportName: "d0", metaContexts: ["base:allocation"] });
 *   const data = await c.read(0, 65536);
 *   await c.close();
 *
 * Calls may be issued concurrently; they are pipelined over the one connection and matched
 * to replies by handle. Requests larger than the server's limits are split transparently.
 */
export class NbdClient {
  private constructor(
    private readonly tx: Transmission,
    private readonly info: ExportInfo,
  ) {}

  static async connect(options: NbdConnectOptions): Promise<NbdClient> {
    const exportName = options.exportName ?? "";
    const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1)
      throw new NbdError("EINVAL", `maxInFlight must be a positive integer`);
    const where =
      options.socketPath !== undefined
        ? `unix:${options.socketPath}`
        : `${options.host}:${options.port ?? NBD_DEFAULT_PORT}`;

    const reader = new ByteReader();
    // Socket reads go through `input` (no 'data' events): into the handshake reader first, then straight
    // into the reply parser, which can land READ payloads in the callers' buffers.
    const input = new SocketInput(reader);
    const socket =
      options.socketPath !== undefined
        ? net.createConnection({ path: options.socketPath, onread: input.onread })
        : net.createConnection({ host: options.host, port: options.port ?? NBD_DEFAULT_PORT, onread: input.onread });

    // Any of: socket error, timeout. Rejects `aborted`, which races every await below.
    let rejectAborted: (err: NbdError) => void = () => {};
    const aborted = new Promise<never>((_, reject) => (rejectAborted = reject));
    aborted.catch(() => {});
    const abort = (err: NbdError) => {
      reader.fail(err);
      socket.destroy();
      rejectAborted(err);
    };
    let connected = false;
    const onError = (err: NodeJS.ErrnoException) =>
      abort(
        connected
          ? new NbdError("ECONNRESET", `${where}: ${err.message}`, { cause: err })
          : errorFromSocket(err, `connecting to ${where}`),
      );
    const onGone = () =>
      reader.end(new NbdError("ECONNRESET", `${where} closed the connection during the NBD handshake`));
    socket.on("error", onError);
    socket.on("end", onGone);
    socket.on("close", onGone);
    const timer = setTimeout(
      () => abort(new NbdError("TIMEOUT", `connecting to ${where}: no NBD session within ${timeoutMs} ms`)),
      timeoutMs,
    );

    try {
      await Promise.race([new Promise<void>((resolve) => socket.once("connect", resolve)), aborted]);
      connected = true;
      if (options.socketPath === undefined) socket.setNoDelay(true);
      const info = await Promise.race([
        performHandshake(reader, socket, {
          exportName,
          metaContexts: options.metaContexts ?? [],
          allowMissingMetaContexts: options.allowMissingMetaContexts ?? false,
        }),
        aborted,
      ]);
      const tx = new Transmission(socket, input, info, { maxInFlight, requestTimeoutMs: options.requestTimeoutMs });
      return new NbdClient(tx, info);
    } catch (err) {
      const failure =
        err instanceof NbdError
          ? err
          : new NbdError("PROTOCOL", `handshake with ${where} failed: ${String(err)}`, { cause: err });
      reader.fail(failure);
      // destroySoon lets a pending NBD_OPT_ABORT reach the server before the socket closes.
      socket.destroySoon();
      throw failure;
    } finally {
      clearTimeout(timer);
      socket.off("error", onError);
      socket.off("end", onGone);
      socket.off("close", onGone);
    }
  }

  get exportName(): string {
    return this.info.exportName;
  }

  /** Export size in bytes. */
  get size(): number {
    return this.info.size;
  }

  get transmissionFlags(): number {
    return this.info.transmissionFlags;
  }

  get readOnly(): boolean {
    return (this.info.transmissionFlags & NBD_FLAG_READ_ONLY) !== 0;
  }

  get canFlush(): boolean {
    return (this.info.transmissionFlags & NBD_FLAG_SEND_FLUSH) !== 0;
  }

  get canFua(): boolean {
    return (this.info.transmissionFlags & NBD_FLAG_SEND_FUA) !== 0;
  }

  get canWriteZeroes(): boolean {
    return (this.info.transmissionFlags & NBD_FLAG_SEND_WRITE_ZEROES) !== 0;
  }

  /** The server keeps several connections to this export coherent (flush on one covers all). */
  get canMultiConn(): boolean {
    return (this.info.transmissionFlags & NBD_FLAG_CAN_MULTI_CONN) !== 0;
  }

  get structuredReplies(): boolean {
    return this.info.structuredReplies;
  }

  /** Minimum (alignment), preferred and maximum (per request payload) sizes from the server. */
  get blockSize(): Readonly<ExportInfo["blockSize"]> {
    return this.info.blockSize;
  }

  /** Meta contexts the server granted, name -> id. */
  get metaContexts(): ReadonlyMap<string, number> {
    return this.info.metaContexts;
  }

  /** Requests queued or awaiting a reply. */
  get pending(): number {
    return this.tx.pending;
  }

  get isOpen(): boolean {
    return this.tx.isOpen;
  }

  /** Reads `length` bytes at `offset`. Holes come back as zeroes. */
  async read(offset: number, length: number): Promise<Buffer> {
    this.checkRange(offset, length, "read");
    // Uninitialised is safe: a successful reply must cover every byte (checked per request).
    const target = allocReadBuffer(length);
    await this.readSplit(offset, target);
    return target;
  }

  /**
   * Reads `target.length` bytes at `offset` into `target` (pass a subarray for part of a buffer). The data goes
   * from the socket straight into it; a caller that reuses its buffers saves an allocation per read, which at
   * GB/s rates is most of the client's CPU time (garbage collection of short-lived buffers). If the read fails,
   * the buffer's content is unspecified.
   */
  async readInto(offset: number, target: Uint8Array): Promise<void> {
    this.checkRange(offset, target.length, "readInto");
    await this.readSplit(
      offset,
      Buffer.isBuffer(target) ? target : Buffer.from(target.buffer, target.byteOffset, target.byteLength),
    );
  }

  private async readSplit(offset: number, target: Buffer): Promise<void> {
    const length = target.length;
    if (length <= this.ioChunk) {
      if (length > 0) await this.tx.read(offset, length, target, 0);
      return;
    }
    await Promise.all(
      this.split(offset, length, this.ioChunk).map(([at, len]) => this.tx.read(at, len, target, at - offset)),
    );
  }

  async write(offset: number, data: Buffer | Uint8Array, options: WriteOptions = {}): Promise<void> {
    const payload = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.checkRange(offset, payload.length, "write");
    this.checkWritable("write");
    // Without FUA support, a flush after the write gives the same durability guarantee.
    const useFua = options.fua === true && this.canFua;
    const flags = useFua ? NBD_CMD_FLAG_FUA : 0;
    await Promise.all(
      this.split(offset, payload.length, this.ioChunk).map(([at, len]) =>
        this.tx.write(at, payload.subarray(at - offset, at - offset + len), flags),
      ),
    );
    if (options.fua && !useFua) await this.flush();
  }

  /** Zeroes a range without sending data. Only if the server advertises WRITE_ZEROES (see canWriteZeroes). */
  async writeZeroes(offset: number, length: number, options: WriteZeroesOptions = {}): Promise<void> {
    this.checkRange(offset, length, "writeZeroes");
    this.checkWritable("writeZeroes");
    if (!this.canWriteZeroes) throw new NbdError("ENOTSUP", "server does not support NBD_CMD_WRITE_ZEROES");
    const useFua = options.fua === true && this.canFua;
    const flags = (useFua ? NBD_CMD_FLAG_FUA : 0) | (options.noHole ? NBD_CMD_FLAG_NO_HOLE : 0);
    await Promise.all(
      this.split(offset, length, this.lengthOnlyChunk).map(([at, len]) =>
        this.tx.command(NBD_CMD_WRITE_ZEROES, flags, at, len),
      ),
    );
    if (options.fua && !useFua) await this.flush();
  }

  /**
   * Makes every write that has completed durable. A server that does not advertise flush has
   * nothing to flush (its writes are already durable), so this is then a no-op.
   */
  async flush(): Promise<void> {
    if (!this.canFlush) return;
    await this.tx.command(NBD_CMD_FLUSH, 0, 0, 0);
  }

  /**
   * Status of [offset, offset+length) in one negotiated meta context, as contiguous extents
   * covering the whole range (neighbours with equal flags merged).
   *
   * Requests are capped below 4 GiB (the length field is 32-bit) and issued in parallel; a
   * server may describe less than asked, so each window is re-queried from where the answer
   * stopped until it is covered.
   */
  async blockStatus(offset: number, length: number, context: string = BASE_ALLOCATION): Promise<Extent[]> {
    this.checkRange(offset, length, "blockStatus");
    const contextId = this.info.metaContexts.get(context);
    if (contextId === undefined) {
      throw new NbdError(
        "ENOTSUP",
        `meta context "${context}" was not negotiated (pass it in metaContexts when connecting)`,
      );
    }
    const windows = this.split(offset, length, this.lengthOnlyChunk);
    const parts = await Promise.all(windows.map(([at, len]) => this.blockStatusWindow(at, len, contextId, context)));
    return coalesceExtents(parts.flat());
  }

  /** Soft disconnect: waits for outstanding requests (up to timeoutMs), then NBD_CMD_DISC. */
  async close(options: { timeoutMs?: number } = {}): Promise<void> {
    await this.tx.close(options.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS);
  }

  /** Hard disconnect: drops the connection now; outstanding requests reject with CLOSED. */
  destroy(): void {
    this.tx.destroy();
  }

  private async blockStatusWindow(
    start: number,
    length: number,
    contextId: number,
    context: string,
  ): Promise<Extent[]> {
    const extents: Extent[] = [];
    const end = start + length;
    let pos = start;
    while (pos < end) {
      const byContext = await this.tx.blockStatus(pos, end - pos, 0);
      const descriptors = byContext.get(contextId);
      if (!descriptors || descriptors.length === 0) {
        throw new NbdError("PROTOCOL", `block status reply at offset ${pos} has no extents for "${context}"`);
      }
      for (const d of descriptors) {
        if (pos >= end) break; // the spec forbids describing more than asked; ignore any surplus
        const len = Math.min(d.length, end - pos);
        extents.push({ offset: pos, length: len, flags: d.flags });
        pos += len;
      }
    }
    return extents;
  }

  /** Largest READ/WRITE payload per request, a multiple of the minimum block size. */
  private get ioChunk(): number {
    const { minimum, maximum } = this.info.blockSize;
    return Math.max(minimum, Math.floor(Math.min(maximum, MAX_REQUEST_LENGTH) / minimum) * minimum);
  }

  /**
   * Largest length for commands without a payload (block status, write zeroes): just under
   * 4 GiB, rounded to 1 MiB (or the minimum block size) so that every window stays aligned.
   */
  private get lengthOnlyChunk(): number {
    const align = Math.max(this.info.blockSize.minimum, 1024 * 1024);
    return Math.floor(MAX_REQUEST_LENGTH / align) * align;
  }

  private split(offset: number, length: number, chunk: number): Array<[number, number]> {
    const parts: Array<[number, number]> = [];
    for (let at = offset; at < offset + length; at += chunk) parts.push([at, Math.min(chunk, offset + length - at)]);
    return parts;
  }

  private checkRange(offset: number, length: number, what: string): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new NbdError(
        "EINVAL",
        `${what}: offset and length must be non-negative integers (got ${offset}, ${length})`,
      );
    }
    if (offset + length > this.info.size) {
      throw new NbdError("EINVAL", `${what}: range ${offset}+${length} is beyond the export size ${this.info.size}`);
    }
    // We asked for NBD_INFO_BLOCK_SIZE, which promises the server we respect its alignment.
    const min = this.info.blockSize.minimum;
    const endsAtExportEnd = offset + length === this.info.size;
    if (offset % min !== 0 || (length % min !== 0 && !endsAtExportEnd)) {
      throw new NbdError(
        "EINVAL",
        `${what}: range ${offset}+${length} is not aligned to the server's minimum block size ${min}`,
      );
    }
  }

  private checkWritable(what: string): void {
    if (this.readOnly) throw new NbdError("EPERM", `${what}: export "${this.info.exportName}" is read-only`);
  }
}
