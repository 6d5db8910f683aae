// The layer books of a qemu-site VM: vm.json's layer list per disk and the layer files in each disk folder,
// with the small steps every snapshot operation and reconcile use to look them up and change them (see
// README.md for the step order and its crash analysis).
//
// A snapshot named X is a layer X on every disk: the layers below X are the disk frozen at the moment X was
// made, X holds every write since. Ensure = add X on top (snapshot-create.ts); keep changes = merge X into the
// layer below (snapshot-merge.ts); discard = drop X, top only, VM off (snapshot-discard.ts). vm.json's layer
// list is the truth; the files and QEMU's block graph follow it, and reconcileVmLocked() (snapshot-reconcile.ts)
// brings them back in line after a crash at any step.
//
// Files in a disk folder: <layer>.qcow2 (a layer), <layer>.qcow2.tmp (being created: never in use, deleted on
// sight), <layer>.qcow2.trash (being removed: its data step is complete, so finishing the removal is safe).
import fs from "node:fs";
import path from "node:path";
import { ProviderError } from "../errors";
import type { SnapshotInfo } from "../types";
import { qemuImg } from "../chain-export/exec";
import { layerNamePattern, type Site, type VmConfig } from "./site";

/** Every layer above each disk's bottom layer, bottom → top, with the disks that have it. */
export async function listSnapshots(site: Site, vmId: string): Promise<SnapshotInfo[]> {
  const config = site.readConfig(vmId);
  const byName = new Map<string, SnapshotInfo>();
  for (const disk of config.disks) {
    for (const layer of disk.layers.slice(1)) {
      let info = byName.get(layer);
      if (!info) {
        info = { name: layer, kind: config.snapshotKinds?.[layer] ?? "other", disks: [] };
        byName.set(layer, info);
      }
      info.disks.push(disk.label);
    }
  }
  return [...byName.values()];
}

export function checkLayerName(name: string): void {
  if (!layerNamePattern.test(name)) throw new ProviderError("invalid", `invalid snapshot name ${JSON.stringify(name)}`);
}

export function diskOf(config: VmConfig, label: string): VmConfig["disks"][number] {
  const disk = config.disks.find((d) => d.label === label);
  if (!disk) throw new ProviderError("not_found", `disk ${label} not found`);
  return disk;
}

export const topLayer = (disk: { layers: string[] }) => disk.layers[disk.layers.length - 1] as string;

export function updateDisk(site: Site, vmId: string, label: string, change: (layers: string[]) => string[]): void {
  const config = site.readConfig(vmId);
  site.writeConfig(vmId, {
    ...config,
    disks: config.disks.map((d) => (d.label === label ? { ...d, layers: change(d.layers) } : d)),
  });
}

/**
 * The last steps of every removal, once its data step is complete: rename the file to .trash, drop the layer
 * from vm.json, delete the trash. A crash after the rename leaves "listed, file missing, trash present", which
 * reconcile finishes; the rename also keeps a half-removed file from ever looking like a new, unlisted layer.
 */
export function retireLayer(site: Site, vmId: string, label: string, name: string): void {
  const file = site.layerFile(vmId, label, name);
  if (fs.existsSync(file)) {
    fs.renameSync(file, `${file}.trash`);
    fsyncDir(path.dirname(file));
  }
  updateDisk(site, vmId, label, (layers) => layers.filter((l) => l !== name));
  fs.rmSync(`${file}.trash`, { force: true });
}

export function dropKindIfUnused(site: Site, vmId: string, name: string): void {
  const config = site.readConfig(vmId);
  if (config.snapshotKinds?.[name] === undefined || config.disks.some((d) => d.layers.includes(name))) return;
  const kinds = { ...config.snapshotKinds };
  delete kinds[name];
  site.writeConfig(vmId, { ...config, snapshotKinds: kinds });
}

export function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

export function unlistedLayerFiles(site: Site, vmId: string, label: string): string[] {
  const listed = new Set(diskOf(site.readConfig(vmId), label).layers);
  return listDir(site.diskDir(vmId, label))
    .filter((f) => f.endsWith(".qcow2"))
    .map((f) => f.slice(0, -".qcow2".length))
    .filter((l) => layerNamePattern.test(l) && !listed.has(l));
}

/** The backing file an image's header names, as an absolute path (null: none). Works on images in use. */
export async function backingOf(file: string): Promise<string | null> {
  const { stdout } = await qemuImg(["info", "--output=json", "-U", "-f", "qcow2", file]);
  const info = JSON.parse(stdout) as { "backing-filename"?: string; "full-backing-filename"?: string };
  const backing = info["full-backing-filename"] ?? info["backing-filename"];
  return backing === undefined ? null : path.resolve(path.dirname(path.resolve(file)), backing);
}

export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
