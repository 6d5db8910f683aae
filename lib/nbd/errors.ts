import {
  NBD_REP_ERR_BLOCK_SIZE_REQD,
  NBD_REP_ERR_INVALID,
  NBD_REP_ERR_PLATFORM,
  NBD_REP_ERR_POLICY,
  NBD_REP_ERR_SHUTDOWN,
  NBD_REP_ERR_TLS_REQD,
  NBD_REP_ERR_TOO_BIG,
  NBD_REP_ERR_UNKNOWN,
  NBD_REP_ERR_UNSUP,
} from "./protocol";

/**
 * Every failure this client reports carries one of these codes, so callers can branch on
 * `err.code` instead of parsing messages.
 *
 * - Errors the server reports for a command use the errno names from the NBD spec
 *   (EPERM, EIO, ENOMEM, EINVAL, ENOSPC, EOVERFLOW, ENOTSUP, ESHUTDOWN).
 * - ENOENT: the export name is unknown to the server.
 * - ECONNREFUSED: nothing is listening (missing unix socket, refused TCP port).
 * - ECONNRESET: the connection dropped while requests were pending (server died, network).
 * - CLOSED: the caller closed or destroyed this client.
 * - TIMEOUT: connect/handshake or a request took longer than allowed.
 * - PROTOCOL: the server sent something the protocol does not allow; the connection is dropped.
 */
export type NbdErrorCode =
  | "EPERM"
  | "EIO"
  | "ENOMEM"
  | "EINVAL"
  | "ENOSPC"
  | "EOVERFLOW"
  | "ENOTSUP"
  | "ESHUTDOWN"
  | "ENOENT"
  | "ECONNREFUSED"
  | "ECONNRESET"
  | "CLOSED"
  | "TIMEOUT"
  | "PROTOCOL";

export interface NbdErrorDetails {
  /** The human-readable text the server sent with the error, if any. */
  serverMessage?: string;
  /** Numeric error value from the server (reply errno or option reply type). */
  serverErrno?: number;
  /** For ERROR_OFFSET chunks: where in the export the server hit the error. */
  offset?: number;
  cause?: unknown;
}

export class NbdError extends Error {
  override readonly name = "NbdError";
  readonly code: NbdErrorCode;
  readonly serverMessage: string | undefined;
  readonly serverErrno: number | undefined;
  readonly offset: number | undefined;

  constructor(code: NbdErrorCode, message: string, details: NbdErrorDetails = {}) {
    const suffix = details.serverMessage ? `: ${details.serverMessage}` : "";
    super(`${message}${suffix}`, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.serverMessage = details.serverMessage;
    this.serverErrno = details.serverErrno;
    this.offset = details.offset;
  }
}

export function isNbdError(err: unknown, code?: NbdErrorCode): err is NbdError {
  return err instanceof NbdError && (code === undefined || err.code === code);
}

/** Error values a server may put in a reply; the spec restricts them to this set. */
const SERVER_ERRNO_CODES: ReadonlyMap<number, NbdErrorCode> = new Map([
  [1, "EPERM"],
  [5, "EIO"],
  [12, "ENOMEM"],
  [22, "EINVAL"],
  [28, "ENOSPC"],
  [75, "EOVERFLOW"],
  [95, "ENOTSUP"],
  [108, "ESHUTDOWN"],
]);

/** Maps a command reply's error field to a code; unknown values are treated as EIO, as the spec suggests. */
export function errorFromServerErrno(errno: number, what: string, serverMessage?: string, offset?: number): NbdError {
  const code = SERVER_ERRNO_CODES.get(errno) ?? "EIO";
  return new NbdError(code, `${what} failed with ${code} (server error ${errno})`, {
    serverErrno: errno,
    serverMessage: serverMessage || undefined,
    offset,
  });
}

const OPTION_REPLY_ERRORS: ReadonlyMap<number, [NbdErrorCode, string]> = new Map([
  [NBD_REP_ERR_UNSUP, ["ENOTSUP", "option not supported by server"]],
  [NBD_REP_ERR_POLICY, ["EPERM", "option forbidden by server policy"]],
  [NBD_REP_ERR_INVALID, ["EINVAL", "option rejected as invalid"]],
  [NBD_REP_ERR_PLATFORM, ["ENOTSUP", "option not supported on server platform"]],
  [NBD_REP_ERR_TLS_REQD, ["EPERM", "server requires TLS (not supported by this client)"]],
  [NBD_REP_ERR_UNKNOWN, ["ENOENT", "export not found"]],
  [NBD_REP_ERR_SHUTDOWN, ["ESHUTDOWN", "server is shutting down"]],
  [NBD_REP_ERR_BLOCK_SIZE_REQD, ["EINVAL", "server requires block size negotiation"]],
  [NBD_REP_ERR_TOO_BIG, ["EOVERFLOW", "option request too big"]],
]);

/** Maps an option reply error (bit 31 set) received during the handshake to a code. */
export function errorFromOptionReply(replyType: number, optionName: string, serverMessage?: string): NbdError {
  const [code, text] = OPTION_REPLY_ERRORS.get(replyType) ?? [
    "PROTOCOL",
    `unknown option error 0x${replyType.toString(16)}`,
  ];
  return new NbdError(code, `${optionName}: ${text}`, {
    serverErrno: replyType,
    serverMessage: serverMessage || undefined,
  });
}

/** Turns a node:net connect error into a typed error, keeping the original as `cause`. */
export function errorFromSocket(err: NodeJS.ErrnoException, where: string): NbdError {
  const unreachable =
    err.code === "ENOENT" || err.code === "ECONNREFUSED" || err.code === "EACCES" || err.code === "ENOTDIR";
  const code: NbdErrorCode = unreachable ? "ECONNREFUSED" : "ECONNRESET";
  return new NbdError(code, `${where}: ${err.message}`, { cause: err });
}
