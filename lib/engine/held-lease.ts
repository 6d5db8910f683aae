// A lease while a runner holds it: the heartbeat that renews it and notices cancel requests, the fenced
// transactions every write of the run goes through, and the signal that stops a running step when the lease is
// lost or a cancel was asked for. Also what a new owner does first after a takeover (end the earlier owner's
// disk access, say so in the log). lease.ts holds the database side (claim, fence, release); this is the glue
// between it and one run.
import { eq } from "drizzle-orm";
import type { Db, Tx } from "@/lib/db/client";
import { failbackItems, type FailbackItem } from "@/lib/db/schema";
import { appendEvent } from "@/lib/events/events";
import { loadItemContext } from "./context";
import { fencedTx, LeaseLostError, type Lease } from "./lease";

/** The abort reason when the heartbeat saw a cancel request: the step stops at a safe point, not in error. */
class CancelRequested extends Error {}

export class HeldLease {
  private readonly heartbeat: NodeJS.Timeout;
  private abort = new AbortController();
  private lost = false;
  private cancelAsked = false;
  private announcedTakeover = false;

  constructor(
    private readonly db: Db,
    readonly lease: Lease,
  ) {
    this.heartbeat = setInterval(() => void this.beat(), Math.max(200, Math.floor(lease.leaseMs / 3)));
  }

  /** Aborted when the lease is lost or a cancel was asked for: the running step stops at its next safe point. */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** Whether the lease is known to be gone (the heartbeat found it taken or expired). */
  get isLost(): boolean {
    return this.lost;
  }

  /** Whether the signal fired for a cancel request (rather than a lost lease). */
  get stoppedForCancel(): boolean {
    return this.abort.signal.aborted && this.abort.signal.reason instanceof CancelRequested;
  }

  /** A fresh signal once a cancel request has been acted on, for the cancel plan's own steps. */
  rearm(): void {
    this.abort = new AbortController();
  }

  stop(): void {
    clearInterval(this.heartbeat);
  }

  /** A transaction that commits only while the lease is held; refused at once once the heartbeat saw it go. */
  tx<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    if (this.lost) return Promise.reject(new LeaseLostError(this.lease));
    return fencedTx(this.db, this.lease, work);
  }

  /** Renews the lease and looks for a cancel request; aborts the running step when either says stop. */
  private async beat(): Promise<void> {
    try {
      const item = await fencedTx(this.db, this.lease, async (tx) => {
        const [row] = await tx
          .select({ cancel: failbackItems.cancelRequested, plan: failbackItems.activePlan })
          .from(failbackItems)
          .where(eq(failbackItems.id, this.lease.itemId));
        return row;
      });
      if (item?.cancel && item.plan === "phase1" && !this.cancelAsked) {
        this.cancelAsked = true;
        this.abort.abort(new CancelRequested("cancel requested"));
      }
    } catch (err) {
      if (err instanceof LeaseLostError) {
        this.lost = true;
        this.abort.abort(err);
      }
      // A database hiccup: the next beat tries again; the lease outlasts a few missed beats.
    }
  }

  /**
   * Whatever disk access an earlier owner left open (it crashed, or stalled past its lease and may wake up)
   * is ended before this owner touches the disks: its late writes then have nowhere to go.
   */
  async fenceHypervisorAccess(): Promise<void> {
    // An item whose VMs cannot be loaded fails its next step with the reason; nothing to fence here.
    const ctx = await loadItemContext(this.db, this.lease.itemId).catch(() => null);
    if (!ctx) return;
    let ended = 0;
    for (const vm of [ctx.replicaVm, ctx.target]) {
      if (vm) ended += (await vm.provider.releaseDiskAccess?.(vm.ext)) ?? 0;
    }
    if (ended > 0) {
      await this.tx((tx) =>
        appendEvent(tx, {
          sessionId: ctx.session.id,
          itemId: ctx.item.id,
          type: "worker.fenced",
          payload: { endedDiskAccess: ended, previousOwner: this.lease.takenOverFrom },
        }),
      );
    }
  }

  /** Says once in the item's log that this worker took the item over from another. */
  async announceTakeover(item: FailbackItem): Promise<void> {
    if (!this.lease.takenOverFrom || this.announcedTakeover) return;
    this.announcedTakeover = true;
    await this.tx((tx) =>
      appendEvent(tx, {
        sessionId: item.sessionId,
        itemId: item.id,
        type: "worker.takeover",
        payload: { from: this.lease.takenOverFrom, to: this.lease.owner, attempt: this.lease.attempt },
      }),
    );
  }
}
