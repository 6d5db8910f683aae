// Steps whose effect is in the configuration database (written in the transaction that marks the step done),
// plus the production CBT restart that belongs to the switch.
import { eq, max } from "drizzle-orm";
import { replicas, restorePoints, vms } from "@/lib/db/schema";
import { sourceChangeTracking } from "@/lib/replication/replicate";
import { requireTarget } from "../context";
import type { StepImpl } from "./step";

export const markReplicaState: StepImpl = async ({ ctx, planned }) => {
  const state = planned.replicaState;
  if (!state) throw new Error("mark_replica_state without a state");
  if (state === "failback") {
    // Production's change tracking starts afresh at the switch: the next replication sends only what changes
    // after it. Production is still off here, so restarting twice (a crash before the commit) loses nothing.
    const target = requireTarget(ctx);
    await target.provider.restartChangeTracking(target.ext, sourceChangeTracking);
  }
  return {
    detail: { replica: ctx.replicaVm.vm.name, state },
    inTx: async (tx) => {
      await tx
        .update(replicas)
        .set({ state, replicationOnHold: state !== "ready", updatedAt: new Date() })
        .where(eq(replicas.id, ctx.replica.id));
    },
  };
};

/** recovered / new location: the new VM takes over the production identity; the old source is retired. */
export const swapIdentity: StepImpl = async ({ ctx }) => {
  const target = requireTarget(ctx);
  const previous = ctx.replica.sourceVmId;
  return {
    detail: { from: previous, to: target.vm.id, vm: target.vm.name },
    inTx: async (tx) => {
      if (previous === target.vm.id) return;
      await tx
        .update(replicas)
        .set({ sourceVmId: target.vm.id, updatedAt: new Date() })
        .where(eq(replicas.id, ctx.replica.id));
      await tx.update(vms).set({ retiredAt: new Date() }).where(eq(vms.id, previous));
    },
  };
};

/** Undo after an identity swap: the original source VM is production again. */
export const restoreIdentity: StepImpl = async ({ ctx }) => {
  const original = ctx.item.originalSourceVmId;
  if (!original) return { skipped: true };
  return {
    detail: { to: original },
    inTx: async (tx) => {
      if (ctx.replica.sourceVmId !== original) {
        await tx
          .update(replicas)
          .set({ sourceVmId: original, updatedAt: new Date() })
          .where(eq(replicas.id, ctx.replica.id));
      }
      await tx.update(vms).set({ retiredAt: null }).where(eq(vms.id, original));
    },
  };
};

/** Commit: the replica's switch-time state becomes its newest restore point (the protective layer stays). */
export const keepRestorePoint: StepImpl = async ({ ctx }) => {
  return {
    detail: { snapshot: ctx.names.protect2 },
    inTx: async (tx) => {
      const [row] = await tx
        .select({ seq: max(restorePoints.seq) })
        .from(restorePoints)
        .where(eq(restorePoints.replicaId, ctx.replica.id));
      const seq = (row?.seq ?? 0) + 1;
      await tx.insert(restorePoints).values({
        replicaId: ctx.replica.id,
        seq,
        kind: "failback",
        locator: { layer: ctx.names.protect2, session: ctx.session.id },
      });
    },
  };
};

/** Cancel: the transfer already stopped at a safe point when the runner switched to the cancel plan. */
export const stopTransfer: StepImpl = async () => ({ detail: { stopped: true } });
