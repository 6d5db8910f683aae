// Snapshots of a libvirt domain: external overlays with deterministic names (layer-names.ts), made, committed and
// discarded through libvirt's verbs while the domain runs, and with qemu-img plus a `virsh define` while it is
// stopped (libvirt 9.0 has no offline verbs for them while checkpoints exist; see lib/providers/README.md).
// Each operation writes its steps in an order that reconcile.ts can finish or undo after a kill between any two.
import { ProviderError } from "../errors";
import type { SnapshotInfo, SnapshotKind } from "../types";
import { addCheckpointBitmaps, checkpointNames } from "./checkpoints";
import { defineDomain } from "./create";
import { withDiskSource } from "./domain-xml";
import { dumpXml } from "./domains";
import { type DiskState, type DomainState, findSnapshotLayer, readDomainState } from "./disk-state";
import type { LibvirtHost } from "./host";
import { checkSnapshotName, commitMarker, overlayFile, tmpFile, trashFile } from "./layer-names";

/** Called between the sub-steps of an operation: tests kill the process there to prove reconcile converges. */
export type StepHook = (step: string) => Promise<void>;
const noHook: StepHook = async () => {};

export async function listSnapshots(host: LibvirtHost, vmId: string): Promise<SnapshotInfo[]> {
  const state = await readDomainState(host, vmId);
  const found = new Map<string, SnapshotInfo>();
  for (const disk of state.disks) {
    for (const layer of disk.layers) {
      if (!layer.snapshot) continue;
      const info = found.get(layer.snapshot.name) ?? {
        name: layer.snapshot.name,
        kind: layer.snapshot.kind,
        disks: [],
      };
      info.disks.push(disk.label);
      found.set(layer.snapshot.name, info);
    }
  }
  return [...found.values()];
}

/** Redefines the stopped domain with each given disk pointing at a new top image. */
export async function repointDisks(host: LibvirtHost, vmId: string, tops: Record<string, string>): Promise<void> {
  let xml = await dumpXml(host, vmId, "inactive");
  for (const [label, file] of Object.entries(tops)) xml = withDiskSource(xml, label, file);
  await defineDomain(host, xml);
}

export async function ensureSnapshot(
  host: LibvirtHost,
  vmId: string,
  name: string,
  kind: SnapshotKind,
  step: StepHook = noHook,
): Promise<void> {
  checkSnapshotName(name);
  const state = await readDomainState(host, vmId);
  const pending = state.disks.filter((disk) => !findSnapshotLayer(disk, name));
  if (pending.length === 0) return;
  const checkpoints = state.running ? [] : await checkpointNames(host, vmId);
  const overlays: Record<string, string> = {};
  for (const disk of pending) {
    const file = overlayFile(disk.folder, state.domain.uuid, disk.label, name, kind);
    overlays[disk.label] = file;
    if (await host.fileExists(file)) continue; // made before a crash: its backing is this top (reconcile checked)
    await host.qemuImg(["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", disk.top, tmpFile(file)]);
    // Offline, libvirt cannot add the checkpoints' bitmaps: without them the guest's writes would go untracked.
    if (checkpoints.length > 0) await addCheckpointBitmaps(host, tmpFile(file), checkpoints);
    await step("overlay-made");
    await host.run("mv", ["-f", tmpFile(file), file]);
    await step("overlay-renamed");
  }
  if (state.running) {
    const specs = state.disks.flatMap((disk) => [
      "--diskspec",
      overlays[disk.label]
        ? `${disk.label},snapshot=external,file=${overlays[disk.label]}`
        : `${disk.label},snapshot=no`,
    ]);
    await host.virsh([
      "snapshot-create-as",
      vmId,
      "--disk-only",
      "--atomic",
      "--no-metadata",
      "--reuse-external",
      ...specs,
    ]);
  } else {
    await repointDisks(host, vmId, overlays);
  }
  await step("attached");
}

function checkRemovable(state: DomainState, disk: DiskState, name: string, mustBeTop: boolean) {
  const found = findSnapshotLayer(disk, name);
  if (!found) return undefined;
  if (found.index === 0)
    throw new ProviderError(
      "invalid",
      `${name} is the bottom layer of ${state.domain.name}/${disk.label}, not a snapshot`,
    );
  if (mustBeTop && found.index !== disk.layers.length - 1) {
    const above = disk.layers.slice(found.index + 1).map((l) => l.snapshot?.name ?? l.file);
    throw new ProviderError(
      "invalid",
      `snapshot ${name} of ${state.domain.name}/${disk.label} has later layers above it (${above.join(", ")}): remove those first`,
    );
  }
  return { ...found, below: disk.layers[found.index - 1]!, above: disk.layers[found.index + 1] };
}

/** working: commit the delta into the disk beneath; protective: merge it back. Gone → no-op. */
export async function removeSnapshotKeepingChanges(
  host: LibvirtHost,
  vmId: string,
  name: string,
  step: StepHook = noHook,
): Promise<void> {
  checkSnapshotName(name);
  const state = await readDomainState(host, vmId);
  const newTops: Record<string, string> = {};
  const committed: string[] = [];
  for (const disk of state.disks) {
    const found = checkRemovable(state, disk, name, false);
    if (!found) continue;
    const { layer, below, above } = found;
    // The marker says "this overlay is on its way out": once it has left the chain, reconcile deletes it.
    await host.run("touch", [commitMarker(layer.file)]);
    await step("marked");
    if (state.running) {
      const args = above
        ? ["blockcommit", vmId, disk.label, "--top", layer.file, "--base", below.file, "--wait"]
        : ["blockcommit", vmId, disk.label, "--active", "--base", below.file, "--pivot", "--wait"];
      await host.virsh(args, { timeoutMs: 30 * 60_000 }).catch(async (err: unknown) => {
        // A pivot a crashed run had asked for may land between our look and this call: then there is nothing
        // left to commit ("could not find image … in chain"). Anything else is a real failure.
        const now = (await readDomainState(host, vmId)).disks.find((d) => d.label === disk.label);
        if (now && !findSnapshotLayer(now, name)) return;
        throw err;
      });
    } else {
      await commitOffline(host, layer.file, below.file, layer.bitmaps, below.bitmaps);
      await step("data-committed");
      if (above) await host.qemuImg(["rebase", "-u", "-F", "qcow2", "-b", below.file, above.file]);
      else newTops[disk.label] = below.file;
    }
    committed.push(layer.file);
  }
  if (Object.keys(newTops).length > 0) await repointDisks(host, vmId, newTops);
  await step("chain-updated");
  for (const file of committed) {
    await host.run("rm", ["-f", file]);
    await host.run("rm", ["-f", commitMarker(file)]);
  }
  // A commit a crashed run had started may have left the chain since (libvirt finished its pivot late): its
  // overlay and marker are this snapshot's too, and go with it.
  for (const disk of state.disks) {
    for (const kind of ["working", "protective"] as const) {
      const file = overlayFile(disk.folder, state.domain.uuid, disk.label, name, kind);
      if (committed.includes(file) || !(await host.fileExists(commitMarker(file)))) continue;
      if (
        findSnapshotLayer(
          (await readDomainState(host, vmId)).disks.find((d) => d.label === disk.label)!,
          name,
        )
      )
        continue;
      await host.run("rm", ["-f", file, commitMarker(file)]);
    }
  }
}

/**
 * The overlay's data into the layer beneath, bitmaps carried: a bitmap the base lacks is added disabled first
 * (so the commit does not mark it with every committed cluster) and then merged from the overlay and enabled;
 * the base's own enabled bitmaps are marked by qemu-img commit itself. Every step may run again.
 */
async function commitOffline(
  host: LibvirtHost,
  overlay: string,
  base: string,
  overlayBitmaps: { name: string; flags: string[] }[],
  baseBitmaps: { name: string; flags: string[] }[],
): Promise<void> {
  const carried = overlayBitmaps.filter(
    (b) => !baseBitmaps.some((bb) => bb.name === b.name && bb.flags.includes("auto")),
  );
  for (const bitmap of carried) {
    if (!baseBitmaps.some((bb) => bb.name === bitmap.name))
      await host.qemuImg(["bitmap", "--add", "--disable", "-g", "65536", base, bitmap.name]);
  }
  await host.qemuImg(["commit", "-q", "-d", overlay], { timeoutMs: 60 * 60_000 });
  for (const bitmap of carried) {
    await host.qemuImg(["bitmap", "--merge", bitmap.name, "-b", overlay, "-F", "qcow2", "--enable", base, bitmap.name]);
  }
}

/** working: drop the delta; protective: revert to the snapshot. Top layer only, domain stopped. Gone → no-op. */
export async function removeSnapshotDiscardingChanges(
  host: LibvirtHost,
  vmId: string,
  name: string,
  step: StepHook = noHook,
): Promise<void> {
  checkSnapshotName(name);
  const state = await readDomainState(host, vmId);
  const targets = state.disks.flatMap((disk) => {
    const found = checkRemovable(state, disk, name, true);
    return found ? [{ disk, ...found }] : [];
  });
  if (targets.length === 0) return;
  if (state.running)
    throw new ProviderError(
      "busy",
      `VM ${state.domain.name} is running: power it off before reverting snapshot ${name}`,
      undefined,
      false,
    );
  // Renamed first: a definition naming a missing file beside its .trash tells reconcile to finish the job.
  for (const { layer } of targets) await host.run("mv", ["-f", layer.file, trashFile(layer.file)]);
  await step("renamed");
  await repointDisks(host, vmId, Object.fromEntries(targets.map(({ disk, below }) => [disk.label, below.file])));
  await step("repointed");
  await dropOrphanCheckpoints(host, vmId);
  for (const { layer } of targets) await host.run("rm", ["-f", trashFile(layer.file)]);
}

/**
 * Checkpoints whose bitmap lived only in a discarded overlay can never be read again (libvirt would answer
 * "missing or broken bitmap"): their records go too.
 */
export async function dropOrphanCheckpoints(host: LibvirtHost, vmId: string): Promise<string[]> {
  const names = await checkpointNames(host, vmId);
  if (names.length === 0) return [];
  const state = await readDomainState(host, vmId);
  const dropped: string[] = [];
  for (const name of names) {
    const everywhere = state.disks.every((disk) => disk.layers.some((l) => l.bitmaps.some((b) => b.name === name)));
    if (everywhere) continue;
    await host.virsh(["checkpoint-delete", vmId, name, "--metadata"]);
    dropped.push(name);
  }
  return dropped;
}
