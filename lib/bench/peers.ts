// What the data plane is measured against: rsync's delta protocol, qemu-img compare, the raw read floor, and
// the bare I/O of a quick rollback done by qemu's own block layer.
import { chmod, writeFile } from "node:fs/promises";
import path from "node:path";
import { run } from "./exec";
import { timed } from "./timing";

export interface RsyncResult {
  seconds: number;
  bytesSent: number;
  bytesReceived: number;
}

/**
 * rsync's real delta algorithm needs a sender and a receiver talking over a pipe; locally, rsync would copy
 * whole files. A remote shell that ignores the host name and runs the command here (as ssh would on the other
 * side: the words joined and given to a shell) makes rsync run both ends with the full protocol.
 */
export async function writeLocalRemoteShell(dir: string): Promise<string> {
  const script = path.join(dir, "rsh-local.sh");
  await writeFile(
    script,
    '#!/bin/sh\n# rsync calls: <rsh> <host> rsync --server ...; run that here instead.\nshift\nexec sh -c "$*"\n',
  );
  await chmod(script, 0o755);
  return script;
}

/** `rsync --inplace --no-whole-file` of `source` onto the existing `target`, through the pipe of `rsh`. */
export async function rsyncDelta(source: string, target: string, rsh: string): Promise<RsyncResult> {
  const { value, seconds } = await timed(() =>
    // --ignore-times: same size, maybe same mtime; the point is to compare content.
    run("rsync", [
      "--inplace",
      "--no-whole-file",
      "--ignore-times",
      "--stats",
      "-e",
      rsh,
      source,
      `localhost:${target}`,
    ]),
  );
  const total = (label: string) => {
    const match = new RegExp(`Total bytes ${label}:\\s*([\\d,.]+)`).exec(value.stdout);
    if (!match?.[1]) throw new Error(`rsync --stats printed no "Total bytes ${label}":\n${value.stdout}`);
    return Number(match[1].replace(/[,.]/g, ""));
  };
  return { seconds, bytesSent: total("sent"), bytesReceived: total("received") };
}

export interface CompareResult {
  seconds: number;
  identical: boolean;
}

/** `qemu-img compare` with both formats given (a wrong format reports a false mismatch). Exit 1 = different. */
export async function qemuImgCompare(a: string, b: string, format = "qcow2"): Promise<CompareResult> {
  const { value, seconds } = await timed(() =>
    run("qemu-img", ["compare", "-f", format, "-F", format, a, b], { allowExitCodes: [1] }),
  );
  return { seconds, identical: value.exitCode === 0 };
}

/** dd of each file once, sequentially, 1 MiB blocks: what just reading both disks costs here. */
export async function ddReadFloor(files: readonly string[]): Promise<number> {
  const { seconds } = await timed(async () => {
    for (const file of files) await run("dd", [`if=${file}`, "of=/dev/null", "bs=1M", "status=none"]);
  });
  return seconds;
}

/** Byte-for-byte equality of two files (cmp), for checking a peer's result. */
export async function filesEqual(a: string, b: string): Promise<boolean> {
  const { exitCode } = await run("cmp", ["--silent", a, b], { allowExitCodes: [1] });
  return exitCode === 0;
}

/** 64 KiB: the CBT granularity, so one changed block is one request. */
const QUICK_BLOCK_BYTES = 65536;
/** Requests in flight per qemu-img bench, as many as our sync keeps in flight per side. */
const QUICK_FLOOR_DEPTH = 16;

/**
 * What a quick rollback's I/O alone costs on this machine, done by qemu's own block layer (`qemu-img bench`,
 * 16 requests in flight) with no diff logic, no NBD and no Node in the way: as many 64 KiB blocks as changed,
 * spread evenly over the disk, read from the source and from the target and written into `overlay` (a fresh
 * overlay on the target), all three at once; then the written blocks read back from the overlay. Every quick
 * rollback that compares before it writes and reads back what it wrote does at least this much, so `quick_s`
 * cannot go below it.
 */
export async function quickIoFloor(options: {
  source: string;
  target: string;
  overlay: string;
  blocks: number;
  sizeBytes: number;
}): Promise<number> {
  const { source, target, overlay, blocks, sizeBytes } = options;
  if (blocks === 0) return 0;
  const stride = Math.max(QUICK_BLOCK_BYTES, Math.floor(sizeBytes / blocks / QUICK_BLOCK_BYTES) * QUICK_BLOCK_BYTES);
  const pass = (file: string, write: boolean) =>
    run("qemu-img", [
      "bench",
      "-f",
      "qcow2",
      "-c",
      String(blocks),
      "-d",
      String(QUICK_FLOOR_DEPTH),
      "-s",
      String(QUICK_BLOCK_BYTES),
      "-S",
      String(stride),
      ...(write ? ["-w", "-t", "writeback"] : []),
      file,
    ]);
  const { seconds } = await timed(async () => {
    // qemu-img bench flushes a written image when it closes it: the read-back reads what is on disk.
    await Promise.all([pass(source, false), pass(target, false), pass(overlay, true)]);
    await pass(overlay, false);
  });
  return seconds;
}
