// Making a snapshot: layer X added on top of every disk as a qcow2 overlay, switched to live in one QMP
// transaction when the VM runs (README.md "Step order" has what a crash between the steps leaves).
import fs from "node:fs";
import path from "node:path";
import type { SnapshotKind } from "../types";
import { qemuImg } from "../chain-export/exec";
import type { Site, VmConfig } from "./site";
import { checkLayerName, fsyncDir, topLayer, updateDisk } from "./snapshot-layers";
import { reconcileOrThrow } from "./snapshot-reconcile";
import { isRunning } from "./vm-liveness";
import { withVmLock } from "./vm-lock";
import { nodeName } from "./vm-names";
import { withQmp } from "./vm-qmp";

/** Adds layer `name` on top of every disk (live via QMP when the VM runs). Listed already → no-op. */
export async function ensureSnapshot(site: Site, vmId: string, name: string, kind: SnapshotKind): Promise<void> {
  checkLayerName(name);
  await withVmLock(site, vmId, async () => {
    await reconcileOrThrow(site, vmId);
    let config = site.readConfig(vmId);
    const missing = config.disks.filter((d) => !d.layers.includes(name));
    if (config.snapshotKinds?.[name] === undefined) {
      // Recorded before any file exists, so a layer adopted after a crash keeps its kind.
      config = { ...config, snapshotKinds: { ...config.snapshotKinds, [name]: kind } };
      site.writeConfig(vmId, config);
    }
    if (missing.length === 0) return;
    if (isRunning(site, vmId)) await ensureLive(site, vmId, name, missing);
    else await ensureOffline(site, vmId, name, missing);
  });
}

async function ensureOffline(site: Site, vmId: string, name: string, disks: VmConfig["disks"]): Promise<void> {
  for (const disk of disks) {
    const top = topLayer(disk);
    await createOverlayFile(site, vmId, disk.label, top, name, disk.sizeBytes);
    // vm.json right after the file appears: a crash in between leaves an unlisted file over the top layer,
    // which reconcile adopts.
    updateDisk(site, vmId, disk.label, (layers) => [...layers, name]);
  }
}

async function ensureLive(site: Site, vmId: string, name: string, disks: VmConfig["disks"]): Promise<void> {
  await withQmp(site, vmId, async (qmp) => {
    const actions: { type: "blockdev-snapshot"; data: { node: string; overlay: string } }[] = [];
    for (const disk of disks) {
      const top = topLayer(disk);
      const overlay = nodeName(disk.label, name);
      await createOverlayFile(site, vmId, disk.label, top, name, disk.sizeBytes);
      await qmp.execute("blockdev-add", {
        driver: "qcow2",
        "node-name": overlay,
        file: {
          driver: "file",
          filename: path.resolve(site.layerFile(vmId, disk.label, name)),
          "node-name": `${overlay}.f`,
        },
        backing: null, // attached by blockdev-snapshot
      });
      actions.push({ type: "blockdev-snapshot", data: { node: nodeName(disk.label, top), overlay } });
    }
    // One transaction: all disks switch to their overlays at the same instant (crash-consistent across disks).
    await qmp.execute("transaction", { actions });
  });
  const labels = new Set(disks.map((d) => d.label));
  const config = site.readConfig(vmId);
  site.writeConfig(vmId, {
    ...config,
    disks: config.disks.map((d) => (labels.has(d.label) ? { ...d, layers: [...d.layers, name] } : d)),
  });
}

/** `<name>.qcow2` over `<below>.qcow2`, made under a temp name and renamed, so it never exists half-made. */
async function createOverlayFile(
  site: Site,
  vmId: string,
  label: string,
  below: string,
  name: string,
  sizeBytes: number,
): Promise<void> {
  const file = site.layerFile(vmId, label, name);
  const tmp = `${file}.tmp`;
  fs.rmSync(tmp, { force: true });
  // -u with an explicit size: no need to open the backing file, which a running QEMU holds locked. The backing
  // name is relative (same folder), so the chain stays valid if the site moves.
  await qemuImg(["create", "-q", "-f", "qcow2", "-u", "-b", `${below}.qcow2`, "-F", "qcow2", tmp, String(sizeBytes)]);
  fs.renameSync(tmp, file);
  fsyncDir(path.dirname(file));
}
