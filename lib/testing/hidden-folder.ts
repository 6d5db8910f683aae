// Runs a child process that cannot see one folder's files while the rest of the machine still can: the child gets
// its own mount namespace, where an empty read-only tmpfs covers the folder. Tests use it to show that a worker
// does its job without a folder (a disk's directory, a key store) it must not depend on. Needs root (unshare).
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import path from "node:path";

// The folder and the command reach sh as positional parameters ($1, then "$@"), never as script text: any path or
// argument passes through unchanged. Private propagation keeps the tmpfs out of the parent's namespace.
const COVER_AND_EXEC = 'mount -t tmpfs -o ro,size=1m tmpfs "$1" && shift && exec "$@"';

/** Spawns `command args…` with `folder` hidden; the child inherits the environment unless options.env says else. */
export function runWithFolderHidden(
  folder: string,
  command: string,
  args: readonly string[] = [],
  options: SpawnOptions = {},
): ChildProcess {
  const covered = path.resolve(options.cwd?.toString() ?? process.cwd(), folder);
  return spawn(
    "unshare",
    ["--mount", "--propagation", "private", "sh", "-c", COVER_AND_EXEC, "sh", covered, command, ...args],
    options,
  );
}

export interface HiddenFolderResult {
  /** The exit code; null when a signal ended the child. A failed mount exits with mount's code (32). */
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `command args…` with `folder` hidden to its end, collecting its output. */
export function execWithFolderHidden(
  folder: string,
  command: string,
  args: readonly string[] = [],
  options: Omit<SpawnOptions, "stdio"> = {},
): Promise<HiddenFolderResult> {
  return new Promise((resolve, reject) => {
    const child = runWithFolderHidden(folder, command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}
