// The answering side (every worker): wake on a NOTIFY or a timer, claim one pending question at a time
// (skip locked: two workers never take the same one), answer it from a handler of its kind, NOTIFY the asker.
import { sql } from "drizzle-orm";
import { connect } from "@/lib/db/client";
import { workerRequests, type WorkerRequest } from "@/lib/db/schema";
import { answersChannel, requestsChannel, type AnswerOf, type PayloadOf, type WorkerRequestKind } from "./kinds";

export type WorkerRequestHandlers = { [K in WorkerRequestKind]: (payload: PayloadOf<K>) => Promise<AnswerOf<K>> };

export interface ServeOptions {
  databaseUrl: string;
  owner: string;
  handlers: WorkerRequestHandlers;
  log: (line: string) => void;
  /** How often to look without a NOTIFY (a lost notification, a worker that started late). */
  pollMs?: number;
}

const maxInFlight = 4;
/** Answered or abandoned questions are kept a day for the curious, then removed. */
const keepFor = "1 day";

export async function serveWorkerRequests(options: ServeOptions): Promise<{ stop(): Promise<void> }> {
  const { owner, handlers, log } = options;
  // A small pool of its own: a LISTEN holds a connection, and the worker's steps must never wait for one.
  const database = connect(options.databaseUrl, { max: 2 });
  let inFlight = 0;
  let draining = false;
  let stopped = false;

  const answer = async (request: WorkerRequest) => {
    const handler = handlers[request.kind as WorkerRequestKind] as ((payload: unknown) => Promise<unknown>) | undefined;
    let outcome: { state: "answered"; answer: unknown } | { state: "failed"; error: string };
    try {
      if (!handler) throw new Error(`this worker does not know questions of kind ${request.kind}`);
      outcome = { state: "answered", answer: await handler(request.payload) };
    } catch (err) {
      outcome = { state: "failed", error: err instanceof Error ? err.message : String(err) };
    }
    await database.db.transaction(async (tx) => {
      await tx
        .update(workerRequests)
        .set({ ...outcome, answeredAt: new Date() })
        .where(sql`${workerRequests.id} = ${request.id} and ${workerRequests.state} = 'claimed'`);
      await tx.execute(sql`select pg_notify(${answersChannel}, ${request.id})`);
    });
  };

  const claim = async (): Promise<WorkerRequest | undefined> => {
    const rows = await database.db.execute<Record<string, unknown>>(sql`
      update worker_requests set state = 'claimed', claimed_by = ${owner}
      where id = (
        select id from worker_requests
        where state = 'pending' and expires_at > now()
        order by created_at
        for update skip locked
        limit 1
      )
      returning id`);
    const id = rows[0]?.id as string | undefined;
    if (!id) return undefined;
    const [row] = await database.db
      .select()
      .from(workerRequests)
      .where(sql`${workerRequests.id} = ${id}`);
    return row;
  };

  const drain = async () => {
    if (draining || stopped) return;
    draining = true;
    try {
      while (!stopped && inFlight < maxInFlight) {
        const request = await claim();
        if (!request) break;
        inFlight++;
        void answer(request)
          .catch((err: unknown) => log(`worker request ${request.id}: ${err instanceof Error ? err.message : err}`))
          .finally(() => {
            inFlight--;
            void drain();
          });
      }
    } catch (err) {
      log(`worker requests: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      draining = false;
    }
  };

  const listener = await database.sql.listen(requestsChannel, () => void drain());
  const timer = setInterval(() => void drain(), options.pollMs ?? 1000);
  const cleanup = setInterval(
    () =>
      void database.db
        .delete(workerRequests)
        .where(sql`${workerRequests.createdAt} < now() - ${keepFor}::interval`)
        .catch(() => {}),
    60 * 60 * 1000,
  );
  void drain();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      clearInterval(cleanup);
      await listener.unlisten().catch(() => {});
      await database.close();
    },
  };
}
