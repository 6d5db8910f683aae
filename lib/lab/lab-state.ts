// lab.json: whether a lab exists and was finished, and where its VMs live. A "creating" lab was interrupted and is
// rebuilt from scratch. It is written before the first VM is made, so reset always knows what to look for.
import fs from "node:fs";
import path from "node:path";
import type { LabSize } from "./estate";

export type LabProviderKind = "qemu" | "libvirt";

export interface LabState {
  state: "creating" | "ready";
  size: LabSize;
  createdAt: string;
  /** Absent in labs made before libvirt labs existed: qemu. */
  provider?: LabProviderKind;
  /** libvirt: the daemon both sites use, and the tag in every domain name (`fb-<tag>-…`). */
  libvirt?: { uri: string; tag: string };
  /** Site names in the inventory when not the lab's own (test labs). */
  siteNames?: { production: string; dr: string };
}

export function readLabState(labDir: string): LabState | null {
  const file = path.join(labDir, "lab.json");
  if (!fs.existsSync(file)) return null;
  return JSON.parse(fs.readFileSync(file, "utf8")) as LabState;
}

export function writeLabState(labDir: string, state: LabState): void {
  fs.mkdirSync(labDir, { recursive: true });
  const file = path.join(labDir, "lab.json");
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2) + "\n");
  fs.renameSync(`${file}.tmp`, file);
}

/**
 * Set by `npm run lab -- reset` so that `npm start` does not build again a lab its user removed on purpose;
 * cleared by `npm run lab -- create`. Kept beside the lab folder, which reset deletes.
 */
const optOutFile = (labDir: string) => `${labDir}.removed-by-user`;

export function labRemovedByUser(labDir: string): boolean {
  return fs.existsSync(optOutFile(labDir));
}

export function setLabRemovedByUser(labDir: string, removed: boolean): void {
  if (removed) fs.writeFileSync(optOutFile(labDir), `${new Date().toISOString()}\n`);
  else fs.rmSync(optOutFile(labDir), { force: true });
}
