// After a crash: libvirt's definition (and the live domain) is the record, the deterministic file names beside
// each disk are the journal. Each rule finishes or undoes one half-done step of snapshots.ts:
// - `X.tmp`                       an overlay being made → deleted (the re-run makes it again);
// - disk names missing X, X.trash an overlay being discarded → the definition re-pointed at X.trash's backing;
// - `X.trash`                     the discard's last step → deleted;
// - `X.commit`, X in the chain    a commit cut short → its block job (if any) cancelled, or its pivot awaited;
//                                 X is still the snapshot (the marker stays), and the re-run commits it again;
// - `X.commit`, X not in chain    a commit that finished → X and the marker deleted;
// - X not in the chain            an overlay made but never attached: on the current top and the domain stopped,
//                                 adopted (checkpoint bitmaps added, definition re-pointed); else deleted.
import path from "node:path";
import { ProviderError } from "../errors";
import { addCheckpointBitmaps, checkpointNames } from "./checkpoints";
import { describe, diskChain, usableDisks } from "./domains";
import type { LibvirtHost } from "./host";
import { commitMarker, parseOverlay } from "./layer-names";
import { dropOrphanCheckpoints, repointDisks } from "./snapshots";

export interface ReconcileReport {
  actions: string[];
  problems: string[];
}

async function listJournal(host: LibvirtHost, folder: string, uuid: string, label: string): Promise<string[]> {
  const { stdout } = await host.run("find", [folder, "-maxdepth", "1", "-name", `${uuid}.${label}.*`]);
  return stdout.split("\n").filter(Boolean).sort();
}

async function backingOf(host: LibvirtHost, file: string): Promise<string | undefined> {
  const { stdout } = await host.qemuImg(["info", "-U", "--output=json", file]);
  const info = JSON.parse(stdout) as { "full-backing-filename"?: string; "backing-filename"?: string };
  const backing = info["full-backing-filename"] ?? info["backing-filename"];
  return backing ? path.resolve(path.dirname(file), backing) : undefined;
}

async function activeBlockJob(host: LibvirtHost, vmId: string, label: string): Promise<boolean> {
  const out = await host.virsh(["blockjob", vmId, label, "--info"]).catch(() => "");
  return /Block Commit|Active Block Commit|\[/.test(out) && !/No current block job/i.test(out);
}

const JOB_SETTLE_MS = 30_000;

async function liveChainHas(host: LibvirtHost, vmId: string, label: string, file: string): Promise<boolean> {
  const disk = (await describe(host, vmId)).disks.find((d) => d.label === label);
  if (!disk?.file) return false;
  return (await diskChain(host, disk.file)).some((layer) => layer.file === file);
}

/**
 * A commit job left by a dead process: cancelled (the overlay stays the snapshot, every guest write in it). A
 * pivot the dead process had already asked for may finish instead — either way, once no job is left the chain is
 * settled. Returns whether there was a job.
 */
async function settleBlockJob(host: LibvirtHost, vmId: string, label: string): Promise<boolean> {
  if (!(await activeBlockJob(host, vmId, label))) return false;
  await host.virsh(["blockjob", vmId, label, "--abort"]).catch(() => {
    // Already pivoting or gone: waiting below tells.
  });
  const deadline = Date.now() + JOB_SETTLE_MS;
  while (await activeBlockJob(host, vmId, label)) {
    if (Date.now() > deadline)
      throw new ProviderError("busy", `the block job on ${label} of ${vmId} does not end`, undefined, true);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return true;
}

export async function reconcileDomain(host: LibvirtHost, vmId: string): Promise<ReconcileReport> {
  const actions: string[] = [];
  const problems: string[] = [];
  const definition = await describe(host, vmId);
  const running = definition.active;
  const uuid = definition.uuid;

  for (const disk of usableDisks(definition)) {
    const folder = path.dirname(disk.file);
    let journal = await listJournal(host, folder, uuid, disk.label);

    // A discard cut short after its rename: the definition still names the overlay, now a .trash file.
    const trash = `${disk.file}.trash`;
    if (journal.includes(trash) && !journal.includes(disk.file) && !running) {
      const below = await backingOf(host, trash);
      if (!below) {
        problems.push(`${disk.label}: ${trash} has no backing file to return to`);
        continue;
      }
      await repointDisks(host, vmId, { [disk.label]: below });
      actions.push(
        `${disk.label}: finished discarding ${path.basename(disk.file)} (definition now at ${path.basename(below)})`,
      );
      await dropOrphanCheckpoints(host, vmId);
      disk.file = below;
    }

    const chain = await diskChain(host, disk.file).then(
      (layers) => layers.map((l) => l.file),
      (err: unknown) => {
        if (err instanceof ProviderError && err.kind === "not_found") return undefined;
        throw err;
      },
    );
    if (!chain) {
      problems.push(`${disk.label}: its image ${disk.file} is missing`);
      continue;
    }
    const inChain = (file: string) => chain.includes(file);
    const top = chain.at(-1) as string;
    if (actions.length > 0) journal = await listJournal(host, folder, uuid, disk.label);

    for (const file of journal) {
      if (file.endsWith(".tmp") || file.endsWith(".trash")) {
        await host.run("rm", ["-f", file]);
        actions.push(`${disk.label}: removed leftover ${path.basename(file)}`);
      } else if (file.endsWith(".commit")) {
        const overlay = file.slice(0, -".commit".length);
        // A live commit may still be running, or pivot just now: settle it, then judge on a fresh chain.
        if (running && inChain(overlay) && (await settleBlockJob(host, vmId, disk.label)))
          actions.push(`${disk.label}: ended the commit job of ${path.basename(overlay)}`);
        const stillInChain = running ? await liveChainHas(host, vmId, disk.label, overlay) : inChain(overlay);
        // Still the snapshot: the marker stays — libvirt may yet finish a pivot the dead run asked for, and the
        // next reconcile (or the commit run again) removes overlay and marker once it has left the chain.
        if (!stillInChain) {
          await host.run("rm", ["-f", overlay, file]);
          actions.push(`${disk.label}: removed committed ${path.basename(overlay)}`);
        }
      }
    }

    for (const file of journal) {
      if (!parseOverlay(file, uuid, disk.label) || inChain(file) || journal.includes(commitMarker(file))) continue;
      if (!running && (await backingOf(host, file)) === top) {
        await addCheckpointBitmaps(host, file, await checkpointNames(host, vmId));
        await repointDisks(host, vmId, { [disk.label]: file });
        actions.push(`${disk.label}: adopted ${path.basename(file)} (made before a crash, never attached)`);
      } else {
        await host.run("rm", ["-f", file]);
        actions.push(`${disk.label}: removed ${path.basename(file)} (not part of the disk)`);
      }
    }
  }
  return { actions, problems };
}

export async function reconcileOrThrow(host: LibvirtHost, vmId: string): Promise<ReconcileReport> {
  const report = await reconcileDomain(host, vmId);
  if (report.problems.length > 0)
    throw new ProviderError("invalid", `VM ${vmId} has inconsistent disk layers`, report.problems.join("; "));
  return report;
}
