/**
 * A scripted in-process NBD server for tests of behaviour qemu never shows on demand:
 * error chunks, short block status answers, out-of-order chunks, protocol violations,
 * silence. It speaks just enough fixed-newstyle handshake to get the client into transmission;
 * each test then answers requests by hand.
 */
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { ByteReader } from "../byte-reader";
import { NbdError } from "../errors";
import {
  NBD_FLAG_FIXED_NEWSTYLE,
  NBD_FLAG_HAS_FLAGS,
  NBD_FLAG_NO_ZEROES,
  NBD_INFO_BLOCK_SIZE,
  NBD_INFO_EXPORT,
  NBD_INIT_MAGIC,
  NBD_OPTS_MAGIC,
  NBD_OPT_ABORT,
  NBD_OPT_GO,
  NBD_OPT_SET_META_CONTEXT,
  NBD_OPT_STRUCTURED_REPLY,
  NBD_REP_ACK,
  NBD_REP_ERR_UNSUP,
  NBD_REP_INFO,
  NBD_REP_MAGIC,
  NBD_REP_META_CONTEXT,
  NBD_SIMPLE_REPLY_MAGIC,
  NBD_STRUCTURED_REPLY_MAGIC,
} from "../protocol";

export interface FakeRequest {
  flags: number;
  type: number;
  handle: bigint;
  offset: number;
  length: number;
  payload: Buffer | null;
}

export interface FakeServerOptions {
  size: number;
  transmissionFlags?: number;
  /** Context name -> id granted on NBD_OPT_SET_META_CONTEXT. */
  contexts?: Record<string, number>;
  /** If set, NBD_OPT_GO is refused with this option reply type and message. */
  refuseGo?: { replyType: number; message: string };
  /** Accept the connection but never send the greeting. */
  silent?: boolean;
  /** Called for every transmission request; reply with the `reply` helpers on `socket`. */
  onRequest?: (req: FakeRequest, socket: net.Socket) => void;
}

export interface FakeServer {
  socketPath: string;
  close(): Promise<void>;
}

export async function startFakeServer(options: FakeServerOptions): Promise<FakeServer> {
  const socketPath = path.join(os.tmpdir(), `nbd-fake-${process.pid}-${Math.random().toString(36).slice(2)}.sock`);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    if (options.silent) return;
    const reader = new ByteReader();
    socket.on("data", (d: Buffer) => reader.push(d));
    socket.on("end", () => reader.end(new NbdError("ECONNRESET", "client went away")));
    serve(socket, reader, options).catch(() => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    socketPath,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function serve(socket: net.Socket, reader: ByteReader, options: FakeServerOptions): Promise<void> {
  const greeting = Buffer.alloc(18);
  greeting.writeBigUInt64BE(NBD_INIT_MAGIC, 0);
  greeting.writeBigUInt64BE(NBD_OPTS_MAGIC, 8);
  greeting.writeUInt16BE(NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES, 16);
  socket.write(greeting);
  await reader.read(4); // client flags

  for (;;) {
    const header = Buffer.from(await reader.read(16));
    const option = header.readUInt32BE(8);
    const length = header.readUInt32BE(12);
    const data = length > 0 ? Buffer.from(await reader.read(length)) : Buffer.alloc(0);
    if (option === NBD_OPT_STRUCTURED_REPLY) {
      socket.write(optionReply(option, NBD_REP_ACK));
    } else if (option === NBD_OPT_SET_META_CONTEXT) {
      const nameLength = data.readUInt32BE(0);
      let at = 4 + nameLength;
      const count = data.readUInt32BE(at);
      at += 4;
      for (let i = 0; i < count; i++) {
        const queryLength = data.readUInt32BE(at);
        const query = data.toString("utf8", at + 4, at + 4 + queryLength);
        at += 4 + queryLength;
        const id = options.contexts?.[query];
        if (id === undefined) continue;
        const payload = Buffer.alloc(4 + Buffer.byteLength(query));
        payload.writeUInt32BE(id, 0);
        payload.write(query, 4);
        socket.write(optionReply(option, NBD_REP_META_CONTEXT, payload));
      }
      socket.write(optionReply(option, NBD_REP_ACK));
    } else if (option === NBD_OPT_GO) {
      if (options.refuseGo) {
        socket.write(optionReply(option, options.refuseGo.replyType, Buffer.from(options.refuseGo.message)));
        continue;
      }
      const exportInfo = Buffer.alloc(12);
      exportInfo.writeUInt16BE(NBD_INFO_EXPORT, 0);
      exportInfo.writeBigUInt64BE(BigInt(options.size), 2);
      exportInfo.writeUInt16BE(options.transmissionFlags ?? NBD_FLAG_HAS_FLAGS, 10);
      socket.write(optionReply(option, NBD_REP_INFO, exportInfo));
      const blockInfo = Buffer.alloc(14);
      blockInfo.writeUInt16BE(NBD_INFO_BLOCK_SIZE, 0);
      blockInfo.writeUInt32BE(1, 2);
      blockInfo.writeUInt32BE(4096, 6);
      blockInfo.writeUInt32BE(1024 * 1024, 10);
      socket.write(optionReply(option, NBD_REP_INFO, blockInfo));
      socket.write(optionReply(option, NBD_REP_ACK));
      break;
    } else if (option === NBD_OPT_ABORT) {
      socket.end(optionReply(option, NBD_REP_ACK));
      return;
    } else {
      socket.write(optionReply(option, NBD_REP_ERR_UNSUP));
    }
  }

  for (;;) {
    const header = Buffer.from(await reader.read(28));
    const req: FakeRequest = {
      flags: header.readUInt16BE(4),
      type: header.readUInt16BE(6),
      handle: header.readBigUInt64BE(8),
      offset: Number(header.readBigUInt64BE(16)),
      length: header.readUInt32BE(24),
      payload: null,
    };
    if (req.type === 1) req.payload = Buffer.from(await reader.read(req.length));
    if (req.type === 2) {
      socket.end();
      return;
    }
    options.onRequest?.(req, socket);
  }
}

function optionReply(option: number, type: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(20);
  header.writeBigUInt64BE(NBD_REP_MAGIC, 0);
  header.writeUInt32BE(option, 8);
  header.writeUInt32BE(type, 12);
  header.writeUInt32BE(data.length, 16);
  return Buffer.concat([header, data]);
}

export function simpleReply(handle: bigint, errno: number, data?: Buffer): Buffer {
  const header = Buffer.alloc(16);
  header.writeUInt32BE(NBD_SIMPLE_REPLY_MAGIC, 0);
  header.writeUInt32BE(errno, 4);
  header.writeBigUInt64BE(handle, 8);
  return data ? Buffer.concat([header, data]) : header;
}

export function chunk(handle: bigint, flags: number, type: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(20);
  header.writeUInt32BE(NBD_STRUCTURED_REPLY_MAGIC, 0);
  header.writeUInt16BE(flags, 4);
  header.writeUInt16BE(type, 6);
  header.writeBigUInt64BE(handle, 8);
  header.writeUInt32BE(payload.length, 16);
  return Buffer.concat([header, payload]);
}

export function dataPayload(offset: number, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeBigUInt64BE(BigInt(offset), 0);
  return Buffer.concat([head, data]);
}

export function holePayload(offset: number, length: number): Buffer {
  const p = Buffer.alloc(12);
  p.writeBigUInt64BE(BigInt(offset), 0);
  p.writeUInt32BE(length, 8);
  return p;
}

export function errorPayload(errno: number, message: string): Buffer {
  const text = Buffer.from(message);
  const p = Buffer.alloc(6);
  p.writeUInt32BE(errno, 0);
  p.writeUInt16BE(text.length, 4);
  return Buffer.concat([p, text]);
}

export function blockStatusPayload(contextId: number, extents: ReadonlyArray<[length: number, flags: number]>): Buffer {
  const p = Buffer.alloc(4 + extents.length * 8);
  p.writeUInt32BE(contextId, 0);
  extents.forEach(([length, flags], i) => {
    p.writeUInt32BE(length, 4 + i * 8);
    p.writeUInt32BE(flags, 8 + i * 8);
  });
  return p;
}
