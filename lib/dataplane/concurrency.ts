// Bounded concurrency for promise pipelines: enough requests in flight to keep both disks and the NBD
// connections busy, few enough that buffers stay bounded.

/** A counting semaphore: acquire() waits for a free slot, release() hands it to the next waiter. */
export class Semaphore {
  private free: number;
  private readonly waiters: Array<() => void> = [];

  constructor(slots: number) {
    this.free = slots;
  }

  acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.free++;
  }
}

/**
 * Runs fn over items with at most `limit` calls in flight. On the first failure no new call starts, and the
 * promise rejects only after the calls already running have settled: nothing is left touching a disk that the
 * caller may close next.
 */
export async function forEachConcurrently<T>(
  items: Iterable<T>,
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  const iterator = items[Symbol.iterator]();
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure) {
      const next = iterator.next();
      if (next.done) return;
      try {
        await fn(next.value);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  if (failure) throw failure.error;
}

/** Like Promise.all, but rejects only once every promise has settled, so no request outlives the failure. */
export async function settleAll<T extends readonly unknown[] | []>(
  promises: T,
): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const outcomes: PromiseSettledResult<unknown>[] = await Promise.allSettled(promises as readonly Promise<unknown>[]);
  for (const o of outcomes) if (o.status === "rejected") throw o.reason;
  return outcomes.map((o) => (o as PromiseFulfilledResult<unknown>).value) as {
    -readonly [K in keyof T]: Awaited<T[K]>;
  };
}
