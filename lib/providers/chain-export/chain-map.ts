// Where each guest byte of a qcow2 chain lives: `qemu-img map` over the same explicit chain the storage daemon
// exports, turned into extents that say "layer i's file at host offset h", "zero" or "ask the daemon".
import type { Region } from "../types";
import { qemuImg } from "./exec";

export type ChainExtent = Region &
  (
    | { where: "file"; layer: number; hostOffset: number }
    | { where: "zero" }
    /** Compressed clusters and anything else only qemu can decode. */
    | { where: "server" }
  );

interface MapEntry {
  start: number;
  length: number;
  depth: number;
  present: boolean;
  zero: boolean;
  data: boolean;
  offset?: number;
  compressed?: boolean;
}

/**
 * The chain as a `json:` image: a qcow2 node per layer whose `backing` is the layer below and `null` at the
 * bottom — qemu never follows the backing names recorded in the images, so the map describes exactly `files`.
 * Every node is read-only and shares its file, because the storage daemon (or a running VM) may hold the locks.
 */
export function chainImageSpec(files: readonly string[]): string {
  let node: Record<string, unknown> | null = null;
  for (const file of files) {
    node = {
      driver: "qcow2",
      "read-only": true,
      "force-share": true,
      file: { driver: "file", filename: file, "read-only": true, "force-share": true },
      backing: node,
    };
  }
  if (!node) throw new Error("a disk chain needs at least one file");
  return `json:${JSON.stringify(node)}`;
}

/** files: bottom → top. The extents cover the whole disk in order. */
export async function mapChain(files: readonly string[]): Promise<ChainExtent[]> {
  const { stdout } = await qemuImg(["map", "--output=json", chainImageSpec(files)]);
  return (JSON.parse(stdout) as MapEntry[]).map((entry) => toExtent(entry, files.length));
}

export function toExtent(entry: MapEntry, layers: number): ChainExtent {
  const region = { offset: entry.start, length: entry.length };
  // Not allocated anywhere in the chain (whose bottom has no backing), or allocated as zero: reads as zeroes.
  if (!entry.present || entry.zero) return { ...region, where: "zero" };
  const layer = layers - 1 - entry.depth;
  if (entry.data && entry.offset !== undefined && entry.compressed !== true && layer >= 0) {
    return { ...region, where: "file", layer, hostOffset: entry.offset };
  }
  return { ...region, where: "server" };
}
