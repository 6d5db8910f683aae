import type { NbdError } from "./errors";
import {
  NBD_CMD_BLOCK_STATUS,
  NBD_CMD_DISC,
  NBD_CMD_FLUSH,
  NBD_CMD_READ,
  NBD_CMD_TRIM,
  NBD_CMD_WRITE,
  NBD_CMD_WRITE_ZEROES,
} from "./protocol";

/** One block status descriptor as sent by the server: a length (from the previous one's end) and flags. */
export interface BlockDescriptor {
  length: number;
  flags: number;
}

/** A request from submission until its last reply message (or the connection's end). */
export interface Request {
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
  /** BLOCK_STATUS: descriptors per meta context id (created on the first block status chunk). */
  extents: Map<number, BlockDescriptor[]> | null;
  /** First error chunk; a structured reply keeps going until DONE even after an error. */
  error: NbdError | null;
  /** The caller's promise has been settled (timeout or failure); a late reply is then just consumed. */
  settled: boolean;
  timer: NodeJS.Timeout | null;
  resolve: (req: Request) => void;
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

/** "READ 4096 bytes at offset 0", for error messages. */
export function describe(req: Pick<Request, "type" | "offset" | "length">): string {
  const name = COMMAND_NAMES[req.type] ?? `command ${req.type}`;
  return req.type === NBD_CMD_FLUSH ? name : `${name} ${req.length} bytes at offset ${req.offset}`;
}
