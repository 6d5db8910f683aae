// One look at a domain and its disks: the definition libvirt runs (or would start), the power state, and each
// disk's layers as the qcow2 headers chain them, with the snapshot each overlay is.
import path from "node:path";
import type { SnapshotKind } from "../types";
import type { DomainDescription } from "./domain-xml";
import { describe, diskChain, type Layer, usableDisks } from "./domains";
import type { LibvirtHost } from "./host";
import { parseOverlay } from "./layer-names";

export interface DiskLayer extends Layer {
  /** The snapshot this layer is, or undefined for the disk's own image (and layers made by others). */
  snapshot?: { name: string; kind: SnapshotKind };
}

export interface DiskState {
  label: string;
  /** libvirt's alias of the device (running domains). */
  alias: string | undefined;
  /** Bottom → top. */
  layers: DiskLayer[];
  top: string;
  folder: string;
}

export interface DomainState {
  vmId: string;
  domain: DomainDescription;
  /** Running or paused. */
  running: boolean;
  disks: DiskState[];
}

export async function readDomainState(host: LibvirtHost, vmId: string): Promise<DomainState> {
  const domain = await describe(host, vmId);
  const disks: DiskState[] = [];
  for (const disk of usableDisks(domain)) {
    const chain = await diskChain(host, disk.file);
    disks.push({
      label: disk.label,
      alias: disk.alias,
      layers: chain.map((layer) => {
        const snapshot = parseOverlay(layer.file, domain.uuid, disk.label);
        return snapshot ? { ...layer, snapshot } : layer;
      }),
      top: disk.file,
      folder: path.dirname(disk.file),
    });
  }
  return { vmId, domain, running: domain.active, disks };
}

/** The layer of snapshot `name` on a disk, with its position. */
export function findSnapshotLayer(disk: DiskState, name: string): { index: number; layer: DiskLayer } | undefined {
  const index = disk.layers.findIndex((l) => l.snapshot?.name === name);
  return index < 0 ? undefined : { index, layer: disk.layers[index] as DiskLayer };
}
