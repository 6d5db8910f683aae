// Change tracking on libvirt: a bitmap marker is a libvirt checkpoint of the same name, whose persistent dirty
// bitmaps (named like the checkpoint) live in the disk's layers. libvirt adds an empty, recording bitmap for
// every checkpoint to each overlay it puts on top, so "changes since the checkpoint" are the union of that
// bitmap over the layers from the one it was made in upwards. Offline, libvirt 9.0 refuses every checkpoint
// verb but `--redefine` and `--metadata` deletes: the bitmaps are then made and dropped with qemu-img.
import { ProviderError } from "../errors";
import type { ChangedBlocks, Region } from "../types";
import { mergeRegions } from "../chain-export/disk-handle";
import { diskChain, type Layer } from "./domains";
import type { LibvirtHost } from "./host";

export const BITMAP_GRANULARITY = 64 * 1024;

export async function checkpointNames(host: LibvirtHost, vmId: string): Promise<string[]> {
  const out = await host.virsh(["checkpoint-list", vmId, "--name"]);
  return out
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
}

/** Adds an enabled bitmap for each checkpoint to an overlay made offline (libvirt does it for live ones). */
export async function addCheckpointBitmaps(host: LibvirtHost, file: string, names: readonly string[]): Promise<void> {
  const present = new Set((await diskChain(host, file)).at(-1)?.bitmaps.map((b) => b.name));
  for (const name of names) {
    if (present.has(name)) continue;
    await host.qemuImg(["bitmap", "--add", "--enable", "-g", String(BITMAP_GRANULARITY), file, name]);
  }
}

/** Starts tracking afresh: checkpoint `name` dropped (metadata and bitmaps) and made again, empty. */
export async function restartCheckpoint(
  host: LibvirtHost,
  vmId: string,
  name: string,
  running: boolean,
  diskTops: readonly string[],
): Promise<void> {
  const exists = (await checkpointNames(host, vmId)).includes(name);
  if (running) {
    if (exists) {
      await host.virsh(["checkpoint-delete", vmId, name]).catch(async (err: unknown) => {
        // A bitmap gone bad or missing (a crashed QEMU): libvirt cannot merge it away; drop the record alone.
        if (!(err instanceof ProviderError)) throw err;
        await host.virsh(["checkpoint-delete", vmId, name, "--metadata"]);
      });
    }
    await host.virsh(["checkpoint-create-as", vmId, name]);
    return;
  }
  if (exists) await host.virsh(["checkpoint-delete", vmId, name, "--metadata"]);
  const disks: string[] = [];
  for (const [index, top] of diskTops.entries()) {
    for (const layer of await diskChain(host, top)) {
      if (layer.bitmaps.some((b) => b.name === name)) await host.qemuImg(["bitmap", "--remove", layer.file, name]);
    }
    await host.qemuImg(["bitmap", "--add", "--enable", "-g", String(BITMAP_GRANULARITY), top, name]);
    disks.push(String(index));
  }
  const domainDisks = await diskLabels(host, vmId);
  const xml =
    `<domaincheckpoint><name>${name}</name><creationTime>${Math.floor(Date.now() / 1000)}</creationTime><disks>` +
    domainDisks.map((label) => `<disk name='${label}' checkpoint='bitmap' bitmap='${name}'/>`).join("") +
    `</disks></domaincheckpoint>`;
  const file = `/tmp/failback-checkpoint-${process.pid}-${Date.now()}.xml`;
  await host.run("sh", ["-c", `cat > ${file}`], { input: xml });
  try {
    await host.virsh(["checkpoint-create", vmId, file, "--redefine"]);
  } finally {
    await host.run("rm", ["-f", file]);
  }
}

async function diskLabels(host: LibvirtHost, vmId: string): Promise<string[]> {
  const out = await host.virsh(["domblklist", vmId, "--details"]);
  return out
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols[1] === "disk" && cols[2])
    .map((cols) => cols[2] as string);
}

/**
 * The blocks changed since checkpoint `name` in the layers given (bottom → top): the union of the bitmap over
 * the layers from the one it was made in upwards. Unavailable, with the reason, when a layer above that one
 * lacks the bitmap (writes there were not tracked) or a bitmap is not consistent.
 */
export async function changedSinceCheckpoint(
  host: LibvirtHost,
  layers: readonly Layer[],
  name: string,
  disk: string,
): Promise<ChangedBlocks> {
  const first = layers.findIndex((layer) => layer.bitmaps.some((b) => b.name === name));
  if (first < 0) return { available: false, reason: `no change tracking (checkpoint ${name}) on ${disk}` };
  const regions: Region[] = [];
  let granularity = BITMAP_GRANULARITY;
  for (const layer of layers.slice(first)) {
    const bitmap = layer.bitmaps.find((b) => b.name === name);
    if (!bitmap)
      return {
        available: false,
        reason: `${layer.file} has no bitmap ${name}: writes into that layer of ${disk} were not tracked`,
      };
    if (bitmap.flags.includes("in-use") || !bitmap.flags.includes("auto"))
      return {
        available: false,
        reason: `bitmap ${name} in ${layer.file} is ${bitmap.flags.includes("in-use") ? "in use or was not closed cleanly (a crashed QEMU)" : "disabled"}: the changes since ${name} are unknown`,
      };
    granularity = Math.max(granularity, bitmap.granularity);
    regions.push(...(await bitmapRegions(host, layer.file, name)));
  }
  return { available: true, regions: mergeRegions(regions.sort((a, b) => a.offset - b.offset)), granularity };
}

interface MapExtent {
  offset: number;
  length: number;
  type: number;
}

/**
 * The extents bitmap `name` of one layer marks dirty. The layer (its backing chain behind it, read-only and
 * shared with a running domain) is exported by qemu-nbd on the host and read by nbdinfo there, so the same two
 * commands serve a host across SSH.
 */
async function bitmapRegions(host: LibvirtHost, file: string, name: string): Promise<Region[]> {
  const context = `qemu:dirty-bitmap:${name}`;
  const { stdout } = await host.run("nbdinfo", [
    "--json",
    `--map=${context}`,
    "--",
    "[",
    "qemu-nbd",
    "--read-only",
    "--shared=1",
    "--image-opts",
    "-B",
    name,
    // force-share: the domain may hold the layer (read-only below its top); options escape commas by doubling.
    `driver=qcow2,force-share=on,read-only=on,file.driver=file,file.filename=${file.replaceAll(",", ",,")}`,
    "]",
  ]);
  const extents = JSON.parse(stdout) as MapExtent[];
  return extents.filter((e) => (e.type & 1) === 1).map((e) => ({ offset: e.offset, length: e.length }));
}
