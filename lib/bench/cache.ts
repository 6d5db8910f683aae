// Dropping the page cache before a timed part, so reads come from the disk ("cold").
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/**
 * Writes dirty pages back, then asks the kernel to drop clean page cache, dentries and inodes. Needs root (and a
 * kernel that lets this container do it); returns false when it cannot, so the caller reports `cold: false`.
 */
export async function dropPageCache(): Promise<boolean> {
  try {
    await execFileAsync("sync");
    await writeFile("/proc/sys/vm/drop_caches", "3\n");
    return true;
  } catch {
    return false;
  }
}

/**
 * Each timed part starts from a fresh 2 GiB copy. `sync` returns once this machine has written it, but the
 * host under this VM may still be flushing it, and the next part's reads would compete with that. A short
 * pause before every part (the read floor included) lets each start from the same quiet state.
 */
export async function settleWrites(pauseMs = 2_000): Promise<void> {
  await execFileAsync("sync");
  await new Promise((resolve) => setTimeout(resolve, pauseMs));
}
