// Verification before anything runs on production: every production block, read back, has the same strong
// digest as the replica's disk at switch time. A mismatch stops the item (needs_attention) with the disk and
// regions named. Retrying the step after a mismatch re-syncs just those regions through a fresh working
// snapshot, then verifies the whole disk again.
import { syncDisk, verifyDisk, type SyncProgress } from "@/lib/dataplane";
import type { VerificationVerdict } from "@/lib/events/catalog";
import type { Region } from "@/lib/providers/types";
import { requireTarget } from "../context";
import { carriedDisks } from "./carried-disks";
import { PermanentStepError, type StepImpl } from "./step";

const describe = (regions: Region[]) =>
  regions
    .slice(0, 3)
    .map((r) => `bytes ${r.offset}–${r.offset + r.length - 1}`)
    .join(", ") + (regions.length > 3 ? ` and ${regions.length - 3} more regions` : "");

export const verifyProduction: StepImpl = async (run) => {
  const { ctx } = run;
  const target = requireTarget(ctx);
  const replica = ctx.replicaVm;
  const earlier = (run.checkpoint as { disks?: Record<string, VerificationVerdict> } | null)?.disks ?? {};
  const carried = await carriedDisks(ctx);
  const verdicts: Record<string, VerificationVerdict> = {};
  const totalBytes = carried.reduce((s, d) => s + d.sizeBytes, 0);
  let doneBefore = 0;

  for (const { label, sizeBytes } of carried) {
    const repair = earlier[label] && !earlier[label].ok ? earlier[label].mismatches : [];
    if (repair.length) {
      // The operator asked to re-run the sync: copy the mismatched regions again, through a working snapshot.
      await target.provider.ensureSnapshot(target.ext, ctx.names.work2, "working");
      const source = await replica.provider.openDiskForRead(replica.ext, label, { at: ctx.names.protect2 });
      try {
        const writer = await target.provider.openSnapshotForWrite(target.ext, label, ctx.names.work2);
        try {
          await syncDisk({ source, target: writer, regions: repair, signal: run.signal });
        } finally {
          await writer.close();
        }
      } finally {
        await source.close();
      }
      await target.provider.removeSnapshotKeepingChanges(target.ext, ctx.names.work2);
      await run.note("verification.resync", { disk: label, regions: repair.length });
    }
    const source = await replica.provider.openDiskForRead(replica.ext, label, { at: ctx.names.protect2 });
    try {
      const reader = await target.provider.openDiskForRead(target.ext, label);
      try {
        const result = await verifyDisk(source, reader, {
          onProgress: (p: SyncProgress) => {
            const done = doneBefore + p.bytesScanned;
            run.progress({
              disk: label,
              bytesDone: done,
              bytesTotal: totalBytes,
              rateBytesPerSec: Math.round(p.rateBytesPerSec),
              etaSeconds: p.rateBytesPerSec > 0 ? Math.ceil((totalBytes - done) / p.rateBytesPerSec) : null,
            });
          },
        });
        verdicts[label] = { ok: result.ok, digest: result.targetDigest, mismatches: result.mismatches };
      } finally {
        await reader.close();
      }
    } finally {
      await source.close();
    }
    doneBefore += sizeBytes;
  }
  await run.saveCheckpoint({ disks: verdicts });
  await run.note(
    "verification.result",
    { disks: verdicts },
    Object.values(verdicts).every((v) => v.ok) ? "info" : "error",
  );
  const failed = Object.entries(verdicts).filter(([, v]) => !v.ok);
  if (failed.length) {
    const [label, verdict] = failed[0] as [string, VerificationVerdict];
    throw new PermanentStepError(
      `Verification failed: production disk ${label} differs from the replica at switch time (${describe(verdict.mismatches)}). Production stays off; retry re-syncs these regions, or undo.`,
    );
  }
  return {
    detail: {
      disks: Object.fromEntries(Object.entries(verdicts).map(([l, v]) => [l, { ok: v.ok, digest: v.digest }])),
    },
  };
};
