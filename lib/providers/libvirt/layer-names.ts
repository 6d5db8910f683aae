// Snapshot layers of a libvirt disk are overlay files with deterministic names, so the kind needs no record of
// its own and a re-run after a crash finds its own files:
//
//   <folder of the layer below>/<domain uuid>.<disk>.<snapshot>.<kind>.qcow2
//
// Suffixes mark the work in flight: `.tmp` (being made; deleted by reconcile), `.commit` (a marker beside an
// overlay being committed: once the overlay has left the chain it is deleted), `.trash` (an overlay being
// discarded: renamed first, then the definition re-pointed, then deleted).
import path from "node:path";
import { ProviderError } from "../errors";
import type { SnapshotKind } from "../types";

export const snapshotNamePattern = /^[a-z0-9][a-z0-9._-]{0,80}$/;

export function checkSnapshotName(name: string): void {
  if (!snapshotNamePattern.test(name))
    throw new ProviderError("invalid", `invalid snapshot name ${JSON.stringify(name)}`);
}

export function overlayFile(folder: string, uuid: string, disk: string, name: string, kind: SnapshotKind): string {
  return path.join(folder, `${uuid}.${disk}.${name}.${kind}.qcow2`);
}

export interface ParsedLayer {
  name: string;
  kind: SnapshotKind;
}

/** The snapshot a file is, when it is one of this domain's overlays on this disk. */
export function parseOverlay(file: string, uuid: string, disk: string): ParsedLayer | undefined {
  const base = path.basename(file);
  const prefix = `${uuid}.${disk}.`;
  if (!base.startsWith(prefix)) return undefined;
  const match = /^(.+)\.(working|protective)\.qcow2$/.exec(base.slice(prefix.length));
  if (!match || !snapshotNamePattern.test(match[1] as string)) return undefined;
  return { name: match[1] as string, kind: match[2] as SnapshotKind };
}

export const tmpFile = (file: string) => `${file}.tmp`;
export const commitMarker = (file: string) => `${file}.commit`;
export const trashFile = (file: string) => `${file}.trash`;
