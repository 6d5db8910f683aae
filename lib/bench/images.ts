// Disk images for the benchmarks: raw content written by Node, turned into qcow2 by qemu-img.
import { copyFile, open, rm } from "node:fs/promises";
import path from "node:path";
import { run } from "./exec";
import { RandomBytes } from "./random";

const WRITE_CHUNK = 8 * 1024 * 1024;

/** A qcow2 whose every cluster is allocated with random data (nothing for a reader to skip). */
export async function buildRandomQcow2(
  file: string,
  sizeBytes: number,
  scratchDir: string,
  seed: string | number = "nbd-throughput",
): Promise<void> {
  const raw = path.join(scratchDir, `${path.basename(file)}.raw`);
  const random = new RandomBytes(seed);
  const handle = await open(raw, "w");
  try {
    for (let at = 0; at < sizeBytes; at += WRITE_CHUNK) {
      const chunk = random.next(Math.min(WRITE_CHUNK, sizeBytes - at));
      await handle.write(chunk, 0, chunk.length, at);
    }
  } finally {
    await handle.close();
  }
  try {
    await qcow2FromRaw(raw, file);
  } finally {
    await rm(raw, { force: true });
  }
}

/** Zero runs of the raw file stay unallocated in the qcow2 (qemu-img's default sparse detection). */
export async function qcow2FromRaw(raw: string, qcow2: string): Promise<void> {
  await run("qemu-img", ["convert", "-q", "-f", "raw", "-O", "qcow2", raw, qcow2]);
}

/** Makes [offset, offset+length) zero clusters: allocated, reading as zeroes, no data stored. */
export async function zeroQcow2Regions(
  qcow2: string,
  regions: ReadonlyArray<{ offset: number; length: number }>,
): Promise<void> {
  // One qemu-io run for all of them; a few hundred -c arguments are fine.
  const BATCH = 200;
  for (let i = 0; i < regions.length; i += BATCH) {
    const commands = regions.slice(i, i + BATCH).flatMap((r) => ["-c", `write -z ${r.offset} ${r.length}`]);
    await run("qemu-io", ["-f", "qcow2", ...commands, qcow2]);
  }
}

/** A full copy (copy_file_range where the kernel can), so each measured run starts from the same bytes. */
export async function copyImage(from: string, to: string): Promise<void> {
  await rm(to, { force: true });
  await copyFile(from, to);
}

/** A qcow2 overlay: reads fall through to `backing`, writes land in the overlay. */
export async function createOverlay(backing: string, overlay: string): Promise<void> {
  await run("qemu-img", ["create", "-q", "-f", "qcow2", "-b", backing, "-F", "qcow2", overlay]);
}
