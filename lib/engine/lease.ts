// Leases and fencing. A worker works on an item only while it holds the item's lease (owner, attempt,
// expiry). Claiming bumps the attempt; every write the worker makes afterwards runs in a transaction that first
// renews the lease by compare-and-set on (owner, attempt, not expired). A worker that stalled past its lease —
// or lost it to a takeover — finds 0 rows there and its whole transaction is refused: it changes nothing.
import { and, eq, gt, isNull, lt, or, sql } from "drizzle-orm";
import type { Db, Tx } from "@/lib/db/client";
import { failbackItems } from "@/lib/db/schema";

export interface Lease {
  itemId: string;
  owner: string;
  attempt: number;
  /** The previous owner, when this claim took the item over from another worker. */
  takenOverFrom: string | null;
  leaseMs: number;
}

export class LeaseLostError extends Error {
  constructor(public readonly lease: Lease) {
    super(`worker ${lease.owner} no longer holds the lease on item ${lease.itemId} (attempt ${lease.attempt})`);
    this.name = "LeaseLostError";
  }
}

const expiresIn = (ms: number) => sql`now() + ${`${ms} milliseconds`}::interval`;

/** Takes the item if nobody holds a live lease on it (or `owner` already does). Null when someone else does. */
export async function claimItem(db: Db, itemId: string, owner: string, leaseMs: number): Promise<Lease | null> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .select({ owner: failbackItems.leaseOwner, expires: failbackItems.leaseExpiresAt })
      .from(failbackItems)
      .where(eq(failbackItems.id, itemId))
      .for("update");
    if (!row) return null;
    const [claimed] = await tx
      .update(failbackItems)
      .set({
        leaseOwner: owner,
        leaseAttempt: sql`${failbackItems.leaseAttempt} + 1`,
        leaseExpiresAt: expiresIn(leaseMs),
      })
      .where(
        and(
          eq(failbackItems.id, itemId),
          or(
            isNull(failbackItems.leaseOwner),
            isNull(failbackItems.leaseExpiresAt),
            lt(failbackItems.leaseExpiresAt, sql`now()`),
            eq(failbackItems.leaseOwner, owner),
          ),
        ),
      )
      .returning({ attempt: failbackItems.leaseAttempt });
    if (!claimed) return null;
    const previous = row.owner && row.owner !== owner ? row.owner : null;
    return { itemId, owner, attempt: claimed.attempt, takenOverFrom: previous, leaseMs };
  });
}

/** Renews the lease inside `tx`, or throws LeaseLostError (rolling the transaction back). */
export async function fence(tx: Tx, lease: Lease): Promise<void> {
  const renewed = await tx
    .update(failbackItems)
    .set({ leaseExpiresAt: expiresIn(lease.leaseMs) })
    .where(
      and(
        eq(failbackItems.id, lease.itemId),
        eq(failbackItems.leaseOwner, lease.owner),
        eq(failbackItems.leaseAttempt, lease.attempt),
        gt(failbackItems.leaseExpiresAt, sql`now()`),
      ),
    )
    .returning({ id: failbackItems.id });
  if (renewed.length !== 1) throw new LeaseLostError(lease);
}

/** A transaction that commits only while the lease is held: every write of a worker goes through one. */
export function fencedTx<T>(db: Db, lease: Lease, work: (tx: Tx) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await fence(tx, lease);
    return work(tx);
  });
}

/** Gives the lease up (the item waits for an operator, or is finished). A lost lease is not an error here. */
export async function releaseItem(db: Db, lease: Lease): Promise<void> {
  await db
    .update(failbackItems)
    .set({ leaseOwner: null, leaseExpiresAt: null })
    .where(
      and(
        eq(failbackItems.id, lease.itemId),
        eq(failbackItems.leaseOwner, lease.owner),
        eq(failbackItems.leaseAttempt, lease.attempt),
      ),
    );
}
