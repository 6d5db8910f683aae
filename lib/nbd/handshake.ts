import type { ByteReader } from "./byte-reader";
import { NbdError, errorFromOptionReply } from "./errors";
import {
  DEFAULT_MAX_BLOCK_SIZE,
  DEFAULT_MIN_BLOCK_SIZE,
  DEFAULT_PREFERRED_BLOCK_SIZE,
  NBD_CLISERV_MAGIC,
  NBD_FLAG_C_FIXED_NEWSTYLE,
  NBD_FLAG_C_NO_ZEROES,
  NBD_FLAG_FIXED_NEWSTYLE,
  NBD_FLAG_NO_ZEROES,
  NBD_INFO_BLOCK_SIZE,
  NBD_INFO_EXPORT,
  NBD_INIT_MAGIC,
  NBD_OPTS_MAGIC,
  NBD_OPT_ABORT,
  NBD_OPT_EXPORT_NAME,
  NBD_OPT_GO,
  NBD_OPT_SET_META_CONTEXT,
  NBD_OPT_STRUCTURED_REPLY,
  NBD_REP_ACK,
  NBD_REP_ERR_UNSUP,
  NBD_REP_FLAG_ERROR,
  NBD_REP_INFO,
  NBD_REP_MAGIC,
  NBD_REP_META_CONTEXT,
  OPTION_REPLY_HEADER_SIZE,
} from "./protocol";
import { encodeOption, encodeString32, readUint64 } from "./wire";

/** What the handshake learned about the export; fixed for the life of the connection. */
export interface ExportInfo {
  exportName: string;
  size: number;
  /** Raw NBD transmission flags (NBD_FLAG_READ_ONLY, NBD_FLAG_SEND_FLUSH, ...). */
  transmissionFlags: number;
  blockSize: { minimum: number; preferred: number; maximum: number };
  /** False only with servers that predate NBD_OPT_STRUCTURED_REPLY. */
  structuredReplies: boolean;
  /** Context name -> id the server assigned; block status replies are keyed by id. */
  metaContexts: ReadonlyMap<string, number>;
}

export interface HandshakeOptions {
  exportName: string;
  metaContexts: readonly string[];
  /** Connect even if the server did not grant every requested meta context. */
  allowMissingMetaContexts: boolean;
}

/** Anything that accepts outgoing bytes; a net.Socket in practice. */
export interface ByteSink {
  write(data: Buffer): unknown;
}

// Option replies are short strings and a few integers; anything huge means we are out of sync.
const MAX_OPTION_REPLY_LENGTH = 1024 * 1024;

/**
 * Runs the fixed-newstyle handshake up to the start of the transmission phase:
 * greeting, client flags, STRUCTURED_REPLY, SET_META_CONTEXT, then GO (falling back to
 * EXPORT_NAME only for servers that do not know GO).
 *
 * If the server refuses something after option haggling has started, we send NBD_OPT_ABORT
 * before giving up, because the spec asks clients for a soft disconnect in that phase.
 */
export async function performHandshake(
  reader: ByteReader,
  sink: ByteSink,
  options: HandshakeOptions,
): Promise<ExportInfo> {
  const greeting = await reader.read(18);
  if (greeting.readBigUInt64BE(0) !== NBD_INIT_MAGIC) {
    throw new NbdError("PROTOCOL", "not an NBD server (bad greeting magic)");
  }
  const style = greeting.readBigUInt64BE(8);
  if (style === NBD_CLISERV_MAGIC) {
    throw new NbdError("PROTOCOL", "server uses oldstyle negotiation, which this client does not support");
  }
  if (style !== NBD_OPTS_MAGIC) {
    throw new NbdError("PROTOCOL", "bad newstyle magic in server greeting");
  }
  const handshakeFlags = greeting.readUInt16BE(16);
  const fixedNewstyle = (handshakeFlags & NBD_FLAG_FIXED_NEWSTYLE) !== 0;
  // Skipping the 124 reserved zero bytes is only allowed if the server offered it.
  const noZeroes = (handshakeFlags & NBD_FLAG_NO_ZEROES) !== 0;

  const clientFlags = Buffer.allocUnsafe(4);
  clientFlags.writeUInt32BE((fixedNewstyle ? NBD_FLAG_C_FIXED_NEWSTYLE : 0) | (noZeroes ? NBD_FLAG_C_NO_ZEROES : 0), 0);
  sink.write(clientFlags);

  if (!fixedNewstyle) {
    // Plain newstyle servers drop the connection on any option but EXPORT_NAME.
    if (options.metaContexts.length > 0 && !options.allowMissingMetaContexts) {
      throw new NbdError(
        "ENOTSUP",
        "server does not support fixed newstyle negotiation, so meta contexts are unavailable",
      );
    }
    return exportNameFallback(reader, sink, options.exportName, noZeroes, false, new Map());
  }

  const exchange = new OptionExchange(reader, sink);
  try {
    const structuredReplies = await negotiateStructuredReplies(exchange);

    let metaContexts = new Map<string, number>();
    if (options.metaContexts.length > 0) {
      if (structuredReplies)
        metaContexts = await negotiateMetaContexts(exchange, options.exportName, options.metaContexts);
      const missing = options.metaContexts.filter((name) => !metaContexts.has(name));
      if (missing.length > 0 && !options.allowMissingMetaContexts) {
        throw new NbdError(
          "ENOTSUP",
          `server did not grant meta context(s) ${missing.join(", ")} for export "${options.exportName}"`,
        );
      }
    }

    const info = await negotiateGo(exchange, options.exportName, structuredReplies, metaContexts);
    // null: GO is unknown to this (old) server; EXPORT_NAME ends the handshake without error reporting.
    return (
      info ?? (await exportNameFallback(reader, sink, options.exportName, noZeroes, structuredReplies, metaContexts))
    );
  } catch (err) {
    if (err instanceof NbdError && err.code !== "PROTOCOL" && !reader.failed) {
      sink.write(encodeOption(NBD_OPT_ABORT));
    }
    throw err;
  }
}

interface OptionReply {
  type: number;
  data: Buffer;
}

/** Sends options and reads their replies, checking each reply belongs to the option sent. */
class OptionExchange {
  constructor(
    private readonly reader: ByteReader,
    private readonly sink: ByteSink,
  ) {}

  send(option: number, data?: Buffer): void {
    this.sink.write(encodeOption(option, data));
  }

  async reply(option: number): Promise<OptionReply> {
    const header = await this.reader.read(OPTION_REPLY_HEADER_SIZE);
    if (header.readBigUInt64BE(0) !== NBD_REP_MAGIC) {
      throw new NbdError("PROTOCOL", "bad option reply magic");
    }
    const echoed = header.readUInt32BE(8);
    const type = header.readUInt32BE(12);
    const length = header.readUInt32BE(16);
    if (echoed !== option) {
      throw new NbdError("PROTOCOL", `option reply for option ${echoed}, expected ${option}`);
    }
    if (length > MAX_OPTION_REPLY_LENGTH) {
      throw new NbdError("PROTOCOL", `option reply of ${length} bytes is implausibly large`);
    }
    const data = length > 0 ? Buffer.from(await this.reader.read(length)) : Buffer.alloc(0);
    return { type, data };
  }
}

function isErrorReply(type: number): boolean {
  return (type & NBD_REP_FLAG_ERROR) !== 0;
}

async function negotiateStructuredReplies(ex: OptionExchange): Promise<boolean> {
  ex.send(NBD_OPT_STRUCTURED_REPLY);
  const reply = await ex.reply(NBD_OPT_STRUCTURED_REPLY);
  if (reply.type === NBD_REP_ACK) return true;
  // Old servers: carry on with simple replies (no block status, no sparse reads).
  if (reply.type === NBD_REP_ERR_UNSUP) return false;
  if (isErrorReply(reply.type))
    throw errorFromOptionReply(reply.type, "NBD_OPT_STRUCTURED_REPLY", reply.data.toString("utf8"));
  throw new NbdError("PROTOCOL", `unexpected reply ${reply.type} to NBD_OPT_STRUCTURED_REPLY`);
}

async function negotiateMetaContexts(
  ex: OptionExchange,
  exportName: string,
  queries: readonly string[],
): Promise<Map<string, number>> {
  const count = Buffer.allocUnsafe(4);
  count.writeUInt32BE(queries.length, 0);
  ex.send(NBD_OPT_SET_META_CONTEXT, Buffer.concat([encodeString32(exportName), count, ...queries.map(encodeString32)]));

  const granted = new Map<string, number>();
  for (;;) {
    const reply = await ex.reply(NBD_OPT_SET_META_CONTEXT);
    if (reply.type === NBD_REP_ACK) return granted;
    if (reply.type === NBD_REP_META_CONTEXT) {
      if (reply.data.length < 4) throw new NbdError("PROTOCOL", "short NBD_REP_META_CONTEXT reply");
      granted.set(reply.data.toString("utf8", 4), reply.data.readUInt32BE(0));
      continue;
    }
    // A server without meta context support simply grants nothing; the caller decides if that is fatal.
    if (reply.type === NBD_REP_ERR_UNSUP) return new Map();
    if (isErrorReply(reply.type))
      throw errorFromOptionReply(reply.type, "NBD_OPT_SET_META_CONTEXT", reply.data.toString("utf8"));
    throw new NbdError("PROTOCOL", `unexpected reply ${reply.type} to NBD_OPT_SET_META_CONTEXT`);
  }
}

/** Returns null when the server does not implement GO, so the caller can fall back. */
async function negotiateGo(
  ex: OptionExchange,
  exportName: string,
  structuredReplies: boolean,
  metaContexts: Map<string, number>,
): Promise<ExportInfo | null> {
  // Asking for NBD_INFO_BLOCK_SIZE also tells the server we will honour its block size limits.
  const infoRequests = Buffer.allocUnsafe(4);
  infoRequests.writeUInt16BE(1, 0);
  infoRequests.writeUInt16BE(NBD_INFO_BLOCK_SIZE, 2);
  ex.send(NBD_OPT_GO, Buffer.concat([encodeString32(exportName), infoRequests]));

  let size: number | undefined;
  let transmissionFlags = 0;
  const blockSize = {
    minimum: DEFAULT_MIN_BLOCK_SIZE,
    preferred: DEFAULT_PREFERRED_BLOCK_SIZE,
    maximum: DEFAULT_MAX_BLOCK_SIZE,
  };
  for (;;) {
    const reply = await ex.reply(NBD_OPT_GO);
    if (reply.type === NBD_REP_INFO) {
      if (reply.data.length < 2) throw new NbdError("PROTOCOL", "short NBD_REP_INFO reply");
      const infoType = reply.data.readUInt16BE(0);
      if (infoType === NBD_INFO_EXPORT) {
        if (reply.data.length !== 12) throw new NbdError("PROTOCOL", "NBD_INFO_EXPORT has wrong length");
        size = readUint64(reply.data, 2, "export size");
        transmissionFlags = reply.data.readUInt16BE(10);
      } else if (infoType === NBD_INFO_BLOCK_SIZE) {
        if (reply.data.length !== 14) throw new NbdError("PROTOCOL", "NBD_INFO_BLOCK_SIZE has wrong length");
        blockSize.minimum = reply.data.readUInt32BE(2);
        blockSize.preferred = reply.data.readUInt32BE(6);
        blockSize.maximum = reply.data.readUInt32BE(10);
        if (blockSize.minimum < 1 || blockSize.maximum < blockSize.minimum) {
          throw new NbdError("PROTOCOL", `nonsensical block sizes ${JSON.stringify(blockSize)}`);
        }
      }
      // NBD_INFO_NAME / NBD_INFO_DESCRIPTION and future info types are informational only.
      continue;
    }
    if (reply.type === NBD_REP_ACK) {
      if (size === undefined) throw new NbdError("PROTOCOL", "server finished NBD_OPT_GO without NBD_INFO_EXPORT");
      return { exportName, size, transmissionFlags, blockSize, structuredReplies, metaContexts };
    }
    if (reply.type === NBD_REP_ERR_UNSUP) return null;
    if (isErrorReply(reply.type)) {
      throw errorFromOptionReply(reply.type, `NBD_OPT_GO for export "${exportName}"`, reply.data.toString("utf8"));
    }
    throw new NbdError("PROTOCOL", `unexpected reply ${reply.type} to NBD_OPT_GO`);
  }
}

async function exportNameFallback(
  reader: ByteReader,
  sink: ByteSink,
  exportName: string,
  noZeroes: boolean,
  structuredReplies: boolean,
  metaContexts: Map<string, number>,
): Promise<ExportInfo> {
  sink.write(encodeOption(NBD_OPT_EXPORT_NAME, Buffer.from(exportName, "utf8")));
  // A server that dislikes the name just hangs up; the reader then fails with ECONNRESET.
  const reply = await reader.read(noZeroes ? 10 : 10 + 124);
  return {
    exportName,
    size: readUint64(reply, 0, "export size"),
    transmissionFlags: reply.readUInt16BE(8),
    blockSize: {
      minimum: DEFAULT_MIN_BLOCK_SIZE,
      preferred: DEFAULT_PREFERRED_BLOCK_SIZE,
      maximum: DEFAULT_MAX_BLOCK_SIZE,
    },
    structuredReplies,
    metaContexts,
  };
}
