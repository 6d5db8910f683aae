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
