// Unix socket paths must fit in 108 bytes (sun_path). Sites deep in the file system put their sockets in a
// short folder under the temp dir instead, named by a hash of where they belong, so every process finds them.
import { createHash } from "node:crypto";
import os from "node:os";
import path from "node:path";

export const MAX_SOCKET_PATH = 100;

/** `preferred` if it fits, else a short deterministic stand-in under the temp dir with the same base name. */
export function fittingSocketPath(preferred: string, prefix: string): string {
  if (Buffer.byteLength(preferred) <= MAX_SOCKET_PATH) return preferred;
  const dir = path.join(
    os.tmpdir(),
    `${prefix}-${createHash("sha256").update(path.dirname(preferred)).digest("hex").slice(0, 16)}`,
  );
  return path.join(
    dir,
    path.basename(preferred).length > 40
      ? createHash("sha256").update(preferred).digest("hex").slice(0, 24) + path.extname(preferred)
      : path.basename(preferred),
  );
}
