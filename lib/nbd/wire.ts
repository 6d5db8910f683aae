import { NbdError } from "./errors";
import { NBD_OPTS_MAGIC, NBD_REQUEST_MAGIC, REQUEST_HEADER_SIZE } from "./protocol";

/** Encoders for the two messages a client sends, plus helpers for 64-bit fields. */

/** An option during the handshake: IHAVEOPT, option number, length, data. */
export function encodeOption(option: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.allocUnsafe(16);
  header.writeBigUInt64BE(NBD_OPTS_MAGIC, 0);
  header.writeUInt32BE(option, 8);
  header.writeUInt32BE(data.length, 12);
  return Buffer.concat([header, data]);
}

export interface RequestHeader {
  flags: number;
  type: number;
  handle: number;
  offset: number;
  length: number;
}

/** A transmission request header; a WRITE's payload is sent right after it, separately. */
export function encodeRequest(req: RequestHeader): Buffer {
  const buf = Buffer.allocUnsafe(REQUEST_HEADER_SIZE);
  buf.writeUInt32BE(NBD_REQUEST_MAGIC, 0);
  buf.writeUInt16BE(req.flags, 4);
  buf.writeUInt16BE(req.type, 6);
  buf.writeBigUInt64BE(BigInt(req.handle), 8);
  buf.writeBigUInt64BE(BigInt(req.offset), 16);
  buf.writeUInt32BE(req.length, 24);
  return buf;
}

/** A length-prefixed (32-bit) UTF-8 string, as used in NBD_OPT_GO and NBD_OPT_SET_META_CONTEXT. */
export function encodeString32(text: string): Buffer {
  const bytes = Buffer.from(text, "utf8");
  const len = Buffer.allocUnsafe(4);
  len.writeUInt32BE(bytes.length, 0);
  return Buffer.concat([len, bytes]);
}

/**
 * Reads an unsigned 64-bit field as a JS number. Sizes and offsets beyond 2^53 would lose
 * precision silently, so they are treated as a protocol error rather than rounded.
 */
export function readUint64(buf: Buffer, at: number, what: string): number {
  const value = buf.readBigUInt64BE(at);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new NbdError("PROTOCOL", `${what} ${value} does not fit in a JavaScript number`);
  }
  return Number(value);
}
