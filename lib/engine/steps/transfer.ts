// The data-moving steps: phase 1's diff + transfer (full digests or quick rollback's CBT regions), new
// location's full copy, and phase 2's "what the replica wrote since phase 1". Each disk's transfer checkpoints
// per range into the step's checkpoint, so a resumed step (after a crash or a takeover) continues where the
// last range that was written and read back ended.
import { syncDisk, type SyncCheckpoint, type SyncProgress } from "@/lib/dataplane";
import { totalBytes } from "@/lib/dataplane/regions";
import type { Region } from "@/lib/providers/types";
import { changedSinceFailover } from "../changed-regions";
import { requireTarget } from "../context";
import { carriedDisks } from "./carried-disks";
import type { StepImpl, StepRun } from "./step";

interface DiskPlan {
  label: string;
  /** null: the whole disk. */
  regions: Region[] | null;
  sizeBytes: number;
}

interface DiskState {
  done: boolean;
  sync: SyncCheckpoint | null;
  bytesChanged: number;
  bytesSent: number;
}

interface TransferCheckpoint {
  disks: Record<string, DiskState>;
}

/**
 * calculate_difference. Full mode: the digest comparison runs inside the transfer (one pass), so this step
 * only fixes the set of disks. Quick rollback: the regions to compare are allocated(failover delta) ∪
 * dirty(source bitmap since the last replication); if either is unusable the step says so in the session log
 * and falls back to the full comparison.
 */
export const calculateDifference: StepImpl = async ({ ctx, note, saveCheckpoint }) => {
  const disks = await carriedDisks(ctx);
  const plans: DiskPlan[] = [];
  let fallback: string | null = null;
  for (const disk of disks) {
    if (!ctx.session.quickRollback || fallback) {
      plans.push({ ...disk, regions: null });
      continue;
    }
    const changes = await changedSinceFailover(ctx.replicaVm, requireTarget(ctx), disk.label, ctx.names.work1);
    if (!changes.available) {
      fallback = changes.reason;
      plans.push({ ...disk, regions: null });
      continue;
    }
    plans.push({ ...disk, regions: changes.regions });
  }
  if (fallback) {
    for (const p of plans) p.regions = null;
    await note("quick_rollback.fallback", {
      reason: fallback,
      message: `Change tracking is unusable (${fallback}): comparing every block instead.`,
    });
  }
  await saveCheckpoint({ plans });
  const bytesToCompare = plans.reduce((sum, p) => sum + (p.regions ? totalBytes(p.regions) : p.sizeBytes), 0);
  return {
    detail: { mode: plans.some((p) => p.regions) ? "cbt" : "full", disks: plans.length, bytesToCompare, fallback },
  };
};

/**
 * Runs syncDisk over each disk in turn — from the replica frozen beneath snapshot `readAt` into production's
 * working snapshot `writeInto` — resuming from the step's checkpoint, reporting combined progress.
 */
async function transferDisks(
  run: StepRun,
  plans: DiskPlan[],
  readAt: string,
  writeInto: string,
): Promise<Record<string, unknown>> {
  const { replicaVm } = run.ctx;
  const production = requireTarget(run.ctx);
  const previous = (run.checkpoint as TransferCheckpoint | null)?.disks ?? {};
  const state: TransferCheckpoint = { disks: {} };
  for (const p of plans)
    state.disks[p.label] = previous[p.label] ?? { done: false, sync: null, bytesChanged: 0, bytesSent: 0 };
  const sizeOf = (p: DiskPlan) => (p.regions ? totalBytes(p.regions) : p.sizeBytes);
  const bytesTotal = plans.reduce((sum, p) => sum + sizeOf(p), 0);
  const perDisk: Record<string, { done: number; total: number }> = Object.fromEntries(
    plans.map((p) => [p.label, { done: state.disks[p.label]?.done ? sizeOf(p) : 0, total: sizeOf(p) }]),
  );
  let resumedFrom = 0;

  for (const plan of plans) {
    const disk = state.disks[plan.label] as DiskState;
    if (disk.done) continue;
    if (disk.sync) resumedFrom += disk.sync.nextOffset;
    const source = await replicaVm.provider.openDiskForRead(replicaVm.ext, plan.label, { at: readAt });
    const target = await production.provider
      .openSnapshotForWrite(production.ext, plan.label, writeInto)
      .catch(async (err: unknown) => {
        await source.close().catch(() => {});
        throw err;
      });
    try {
      const report = (p: SyncProgress) => {
        (perDisk[plan.label] as { done: number }).done = p.bytesScanned;
        const bytesDone = Object.values(perDisk).reduce((sum, d) => sum + d.done, 0);
        const rate = p.rateBytesPerSec;
        run.progress({
          disk: plan.label,
          bytesDone,
          bytesTotal,
          bytesChanged: p.bytesChanged,
          bytesSent: p.bytesSent,
          rateBytesPerSec: Math.round(rate),
          etaSeconds: rate > 0 ? Math.ceil((bytesTotal - bytesDone) / rate) : null,
          disks: perDisk,
        });
      };
      const result = await syncDisk({
        source,
        target,
        regions: plan.regions ?? undefined,
        rangeBytes: run.settings.rangeBytes,
        checkpoint: disk.sync,
        signal: run.signal,
        onProgress: report,
        onCheckpoint: async (cp) => {
          disk.sync = cp;
          await run.saveCheckpoint(state as unknown as Record<string, unknown>);
        },
      });
      disk.done = true;
      disk.sync = null;
      disk.bytesChanged = result.bytesChanged;
      disk.bytesSent = result.bytesSent;
      (perDisk[plan.label] as { done: number }).done = sizeOf(plan);
      await run.saveCheckpoint(state as unknown as Record<string, unknown>);
    } finally {
      await target.close().catch(() => {});
      await source.close().catch(() => {});
    }
  }
  const disks = Object.fromEntries(
    Object.entries(state.disks).map(([label, d]) => [label, { bytesChanged: d.bytesChanged, bytesSent: d.bytesSent }]),
  );
  return {
    bytesTotal,
    bytesChanged: Object.values(state.disks).reduce((s, d) => s + d.bytesChanged, 0),
    bytesSent: Object.values(state.disks).reduce((s, d) => s + d.bytesSent, 0),
    resumedFromBytes: resumedFrom,
    disks,
  };
}

function regionsFromCalculation(run: StepRun, disks: { label: string; sizeBytes: number }[]): DiskPlan[] {
  // calculate_difference fixed the regions; recomputing them here could see a different bitmap after a crash.
  const calculation = run.checkpointOf("calculate_difference") as { plans?: DiskPlan[] } | null;
  if (calculation?.plans) return calculation.plans;
  return disks.map((d) => ({ ...d, regions: null }));
}

/**
 * Phase 1: the frozen replica's differing blocks into production's working snapshot — over the regions
 * calculate_difference fixed (quick rollback), else every block; new location (no calculation step) copies all
 * of it into the new VM, zero regions travelling as commands.
 */
export const transferPhase1: StepImpl = async (run) => {
  const { ctx } = run;
  const plans = regionsFromCalculation(run, await carriedDisks(ctx));
  return { detail: await transferDisks(run, plans, ctx.names.protect1, ctx.names.work1) };
};

/** Phase 2: the replica's writes since phase 1 (the allocation of the phase-1 protective snapshot). */
export const transferChangesSincePhase1: StepImpl = async (run) => {
  const { ctx } = run;
  const plans: DiskPlan[] = [];
  for (const disk of await carriedDisks(ctx)) {
    const changed = await ctx.replicaVm.provider.changedBlocks(ctx.replicaVm.ext, disk.label, {
      kind: "layer",
      name: ctx.names.protect1,
    });
    if (!changed.available) {
      await run.note("phase2.full_compare", { disk: disk.label, reason: changed.reason });
      plans.push({ ...disk, regions: null });
    } else plans.push({ ...disk, regions: changed.regions });
  }
  return { detail: await transferDisks(run, plans, ctx.names.protect2, ctx.names.work2) };
};
