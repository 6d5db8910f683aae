// The asking side (the web tier): record the question, wake the workers, wait for the answer. A NOTIFY is only
// a latency hint: the row is read again on every wake-up and on a short timer, so a lost notification costs
// at most one poll interval.
import "server-only";
import { eq, sql } from "drizzle-orm";
import type { Database } from "@/lib/db/client";
import { workerRequests } from "@/lib/db/schema";
import { AppError } from "@/lib/errors";
import { answersChannel, requestsChannel, type AnswerOf, type PayloadOf, type WorkerRequestKind } from "./kinds";

const pollMs = 250;

export interface AskOptions {
  timeoutMs: number;
}

export async function askWorker<K extends WorkerRequestKind>(
  database: Database,
  kind: K,
  payload: PayloadOf<K>,
  options: AskOptions,
): Promise<AnswerOf<K>> {
  const { db, sql: client } = database;
  const expiresAt = new Date(Date.now() + options.timeoutMs);
  const id = await db.transaction(async (tx) => {
    const [row] = await tx
      .insert(workerRequests)
      .values({ kind, payload: payload as unknown as Record<string, unknown>, expiresAt })
      .returning({ id: workerRequests.id });
    const requestId = (row as { id: string }).id;
    await tx.execute(sql`select pg_notify(${requestsChannel}, ${requestId})`);
    return requestId;
  });

  let wake: () => void = () => {};
  const listener = await client.listen(answersChannel, (answered) => {
    if (answered === id) wake();
  });
  try {
    for (;;) {
      const [row] = await db.select().from(workerRequests).where(eq(workerRequests.id, id));
      if (row?.state === "answered") return row.answer as AnswerOf<K>;
      if (row?.state === "failed") throw new AppError("UNAVAILABLE", `The worker could not answer: ${row.error}`);
      const left = expiresAt.getTime() - Date.now();
      if (left <= 0) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(pollMs, left));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    await listener.unlisten().catch(() => {});
  }
  return giveUp(database, id, options.timeoutMs);
}

/** Past the deadline: an unclaimed question is withdrawn, so no worker answers it after the asker has left. */
async function giveUp(database: Database, id: string, timeoutMs: number): Promise<never> {
  const seconds = Math.round(timeoutMs / 100) / 10;
  const [withdrawn] = await database.db
    .update(workerRequests)
    .set({ state: "expired" })
    .where(sql`${workerRequests.id} = ${id} and ${workerRequests.state} = 'pending'`)
    .returning({ id: workerRequests.id });
  if (withdrawn) {
    throw new AppError(
      "UNAVAILABLE",
      `No worker answered within ${seconds} s: start one (npm run worker) or let npm start run it (FAILBACK_WORKER=1).`,
    );
  }
  throw new AppError("UNAVAILABLE", `A worker took the question but did not answer within ${seconds} s.`);
}
