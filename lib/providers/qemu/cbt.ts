// Changed-block tracking on qcow2: what a snapshot layer holds (its own allocated extents), and persistent dirty
// bitmaps (created, checked and read offline; a running VM's bitmaps are the provider's QMP business).
import { createHash } from "node:crypto";
import { type NbdClient, dirtyBitmapContext, isDirty } from "@/lib/nbd";
import { ProviderError } from "../errors";
import type { ChangedBlocks, Region } from "../types";
import { connectToDaemon } from "../chain-export/disk-access";
import { mergeRegions, providerErrorFromNbd } from "../chain-export/disk-handle";
import { qemuImg } from "../chain-export/exec";
import { type StorageDaemon, startStorageDaemon, stopLeftoverStorageDaemon } from "../chain-export/storage-daemon";

// ---- a layer's own extents ----

interface MapEntry {
  start: number;
  length: number;
  depth: number;
  /** Allocated in the image asked about (7.2 reports it; older qemu does not). */
  present?: boolean;
  zero: boolean;
  data: boolean;
}

/**
 * The extents allocated in this one qcow2 file, its backing ignored: for an overlay, exactly what was written
 * into it since it was created, at cluster granularity. Zero clusters count: writing zeroes is a change too.
 * -U (force-share) because the layer is usually the active layer of a running VM.
 */
export async function layerAllocatedRegions(file: string): Promise<Region[]> {
  const alone = `json:${JSON.stringify({ driver: "qcow2", backing: null, file: { driver: "file", filename: file } })}`;
  const { stdout } = await qemuImg(["map", "--output=json", "-U", alone]);
  const entries = JSON.parse(stdout) as MapEntry[];
  return mergeRegions(entries.filter((e) => e.present ?? e.data).map((e) => ({ offset: e.start, length: e.length })));
}

// ---- persistent dirty bitmaps ----

export interface BitmapInfo {
  name: string;
  granularity: number;
  /** "auto": enabled (tracks writes); "in-use": opened for writing by a process, or left so by one that crashed. */
  flags: string[];
}

export type BitmapStatus = "ok" | "missing" | "inconsistent" | "in_use";

interface QemuImgInfo {
  "format-specific"?: { type?: string; data?: { bitmaps?: BitmapInfo[] } };
}

/** The persistent bitmaps of a qcow2 file; -U so it answers while a VM has the file open. */
export async function listBitmaps(file: string): Promise<BitmapInfo[]> {
  const { stdout } = await qemuImg(["info", "--output=json", "-U", file]);
  const info = JSON.parse(stdout) as QemuImgInfo;
  return (info["format-specific"]?.data?.bitmaps ?? []).map(({ name, granularity, flags }) => ({
    name,
    granularity,
    flags: [...flags],
  }));
}

async function findBitmap(file: string, name: string): Promise<BitmapInfo | undefined> {
  return (await listBitmaps(file)).find((b) => b.name === name);
}

/**
 * Whether some process holds the image open for writing. Without -U, qemu-img asks for a shared lock that a
 * writer's lock excludes; readers (our read-only exports, a VM's backing files) do not.
 */
async function isOpenForWriting(file: string): Promise<boolean> {
  try {
    await qemuImg(["info", "--output=json", file]);
    return false;
  } catch (err) {
    if (err instanceof ProviderError && err.kind === "busy") return true;
    throw err;
  }
}

/**
 * "in-use" means two different things: a writer has the image open right now (its bitmap is live and fine, just
 * not readable offline), or a writer died without saving the bitmap (its content is stale for good: qemu refuses
 * it as inconsistent). The image lock tells them apart.
 */
export async function bitmapStatus(file: string, name: string): Promise<BitmapStatus> {
  return (await inspectBitmap(file, name)).status;
}

type InspectedBitmap = { status: "ok"; info: BitmapInfo } | { status: Exclude<BitmapStatus, "ok"> };

/** The status and, for a usable bitmap, its description: one `qemu-img info` unless the bitmap is in use. */
async function inspectBitmap(file: string, name: string): Promise<InspectedBitmap> {
  const bitmap = await findBitmap(file, name);
  if (!bitmap) return { status: "missing" };
  if (!bitmap.flags.includes("in-use")) return { status: "ok", info: bitmap };
  if (await isOpenForWriting(file)) return { status: "in_use" };
  // The writer may have closed the image cleanly between the two looks: look again.
  const again = await findBitmap(file, name);
  if (!again) return { status: "missing" };
  return again.flags.includes("in-use") ? { status: "inconsistent" } : { status: "ok", info: again };
}

function checkGranularity(granularity: number): void {
  const powerOfTwo = Number.isInteger(granularity) && granularity > 0 && (granularity & (granularity - 1)) === 0;
  if (!powerOfTwo || granularity < 512 || granularity > 2 ** 31) {
    throw new ProviderError(
      "invalid",
      `bitmap granularity ${granularity} is not a power of two between 512 B and 2 GiB`,
    );
  }
}

/**
 * Makes sure an enabled, consistent bitmap `name` with this granularity tracks writes to `file` (offline: the
 * file must not be open for writing elsewhere, or qemu-img fails with a "busy" ProviderError).
 *
 * - "existing": it was already there and usable; its recorded changes are kept (a retried step changes nothing).
 * - "created": there was none.
 * - "recreated": there was one that cannot be trusted to hold every change since it started (inconsistent
 *   after a crash, disabled, or of another granularity); it was replaced by an empty one.
 */
export async function ensurePersistentBitmap(
  file: string,
  name: string,
  granularity = 65_536,
): Promise<"existing" | "created" | "recreated"> {
  checkGranularity(granularity);
  const existing = await findBitmap(file, name);
  if (existing) {
    const usable =
      existing.granularity === granularity &&
      existing.flags.includes("auto") &&
      (await bitmapStatus(file, name)) === "ok";
    if (usable) return "existing";
    await qemuImg(["bitmap", "--remove", file, name]);
  }
  await qemuImg(["bitmap", "--add", "--enable", "-g", String(granularity), file, name]);
  return existing ? "recreated" : "created";
}

/** Removes the bitmap (also an inconsistent one: that is the only way to clear it). True if it existed. */
export async function removeBitmap(file: string, name: string): Promise<boolean> {
  if (!(await findBitmap(file, name))) return false;
  try {
    await qemuImg(["bitmap", "--remove", file, name]);
  } catch (err) {
    // Someone else removed it between our look and our remove: the outcome is the one asked for.
    if (err instanceof ProviderError && /not found/i.test(err.toolMessage ?? "")) return false;
    throw err;
  }
  return true;
}

// ---- reading a bitmap ----

export interface DirtyRegionsOptions {
  /** The chain bottom → top; the bitmap lives in the top file. */
  files: readonly string[];
  runDir: string;
  bitmap: string;
  /** Default: derived from the top file and bitmap, so a crashed query's daemon is found and replaced. */
  exportName?: string;
}

function unavailableReason(status: Exclude<BitmapStatus, "ok">, file: string, bitmap: string): string {
  switch (status) {
    case "missing":
      return `dirty bitmap "${bitmap}" does not exist in ${file}: change tracking was never started there or was removed`;
    case "inconsistent":
      return (
        `dirty bitmap "${bitmap}" in ${file} is inconsistent: a process that had the disk open for writing did not ` +
        `close it cleanly, so the changes since tracking started are unknown`
      );
    case "in_use":
      return `dirty bitmap "${bitmap}" in ${file} is in use: a running process has the disk open for writing`;
  }
}

function defaultExportName(top: string, bitmap: string): string {
  return `cbt-${createHash("sha256").update(`${top}\0${bitmap}`).digest("hex").slice(0, 16)}`;
}

/**
 * The regions marked dirty in persistent bitmap `bitmap` of the chain's top file, read through an NBD export
 * (meta context qemu:dirty-bitmap:<name>, flag 1 = dirty).
 *
 * The export is read-only with read-only nodes. qemu refuses a read-only export of an *enabled* bitmap only when
 * the node is writable (the bitmap could change under the reader); with a read-only node it cannot, so the
 * enabled bitmap is exported as it is. This beats the alternatives: a writable export would mark the bitmap
 * in-use while it runs (a crash of ours would then destroy the source's CBT), and copying it into a temporary
 * disabled bitmap writes to the image.
 *
 * A bitmap that is missing, inconsistent or in use gives { available: false, reason } instead of an error: the
 * caller falls back to a full comparison.
 */
export async function dirtyRegions(options: DirtyRegionsOptions): Promise<ChangedBlocks> {
  const top = options.files[options.files.length - 1];
  if (top === undefined) throw new ProviderError("invalid", "a disk chain needs at least one file");
  const { bitmap, runDir } = options;
  const exportName = options.exportName ?? defaultExportName(top, bitmap);

  const inspected = await inspectBitmap(top, bitmap);
  if (inspected.status !== "ok") return { available: false, reason: unavailableReason(inspected.status, top, bitmap) };
  const { info } = inspected;

  await stopLeftoverStorageDaemon(runDir, exportName);
  let daemon: StorageDaemon;
  try {
    daemon = await startStorageDaemon({ files: options.files, runDir, exportName, bitmaps: [bitmap] });
  } catch (err) {
    // The bitmap may have gone bad or away since we looked (a writer opened the image): say so, as above.
    const now = await bitmapStatus(top, bitmap).catch(() => "ok" as const);
    if (now !== "ok") return { available: false, reason: unavailableReason(now, top, bitmap) };
    throw err;
  }
  let client: NbdClient | undefined;
  try {
    const context = dirtyBitmapContext(bitmap);
    client = await connectToDaemon(daemon, { metaContexts: [context] });
    const connected = client;
    const extents = await connected.blockStatus(0, connected.size, context).catch((err: unknown) => {
      throw providerErrorFromNbd(err, `reading dirty bitmap "${bitmap}" of ${top}`);
    });
    const regions = mergeRegions(extents.filter(isDirty).map(({ offset, length }) => ({ offset, length })));
    return { available: true, regions, granularity: info.granularity };
  } finally {
    await client?.close().catch(() => client?.destroy());
    await daemon.stop();
  }
}
