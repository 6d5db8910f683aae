// Free space on the filesystem that holds a qemu site (for the engine's pre-flight checks).
import fs from "node:fs";
import path from "node:path";
import type { Site } from "./site";

/** Bytes available to this (unprivileged) process on the filesystem holding `dir` or its nearest existing parent. */
export async function freeSpaceBytesAt(dir: string): Promise<number> {
  let current = path.resolve(dir);
  while (!fs.existsSync(current) && path.dirname(current) !== current) current = path.dirname(current);
  const stats = await fs.promises.statfs(current);
  return stats.bavail * stats.bsize;
}

/** Bytes free where the site's VMs live (a VM's disks are always inside its site folder). */
export function freeSpaceBytes(site: Site): Promise<number> {
  return freeSpaceBytesAt(site.dir);
}
