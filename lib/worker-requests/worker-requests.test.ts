// Worker requests over a real PostgreSQL: a question is answered by a serving worker (woken by NOTIFY), by
// exactly one of two, a handler's failure comes back as its reason, and with no worker the asker gets a clear
// UNAVAILABLE within its time — and the question is withdrawn, so a worker starting later never answers it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { workerRequests } from "@/lib/db/schema";
import type { HypervisorFacts } from "@/lib/engine/preflight/facts";
import { AppError } from "@/lib/errors";
import { isolatedDatabase } from "@/lib/testing/db";
import { askWorker } from "./ask";
import { serveWorkerRequests, type WorkerRequestHandlers } from "./serve";

// A database of its own: the run's is served by the engine tests' workers, which would answer these questions.
let database: Awaited<ReturnType<typeof isolatedDatabase>>;
let databaseUrl: string;
const replicaId = "00000000-0000-4000-8000-0000000000aa";
const answer: HypervisorFacts = { freeSpaceBytes: 123, sourceTracking: { intact: true }, unreachable: null };
const stops: (() => Promise<void>)[] = [];

beforeAll(async () => {
  database = await isolatedDatabase("failback_wr");
  databaseUrl = database.url;
});
afterAll(async () => {
  for (const stop of stops) await stop();
  await database.drop();
});

async function serve(owner: string, handler: WorkerRequestHandlers["preflight.facts"]) {
  // A long poll interval: the answer must come from the NOTIFY, not from the timer.
  const server = await serveWorkerRequests({
    databaseUrl,
    owner,
    log: () => {},
    pollMs: 60_000,
    handlers: { "preflight.facts": handler },
  });
  stops.push(server.stop);
  return server;
}

const ask = (timeoutMs: number) =>
  askWorker(database, "preflight.facts", { items: [{ replicaId, target: "original" }] }, { timeoutMs });

describe("worker requests", () => {
  it("says no worker answered, in time, and withdraws the question", async () => {
    const started = Date.now();
    const refusal = await ask(700).catch((err: unknown) => err);
    expect(refusal).toBeInstanceOf(AppError);
    expect(refusal).toMatchObject({
      code: "UNAVAILABLE",
      message: expect.stringMatching(/No worker answered within 0.7 s/),
    });
    expect(Date.now() - started).toBeLessThan(3000);
    const withdrawn = await database.db.select().from(workerRequests).where(eq(workerRequests.state, "expired"));
    expect(withdrawn.length).toBeGreaterThan(0);

    // A worker that starts afterwards leaves the withdrawn question alone.
    let calls = 0;
    const late = await serve("late", async () => {
      calls++;
      return [answer];
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(calls).toBe(0);
    await late.stop();
  });

  it("is answered by exactly one of two workers, woken by NOTIFY", async () => {
    const answeredBy: string[] = [];
    await serve("worker-a", async () => (answeredBy.push("a"), [answer]));
    await serve("worker-b", async () => (answeredBy.push("b"), [answer]));
    const started = Date.now();
    expect(await ask(5000)).toEqual([answer]);
    expect(Date.now() - started).toBeLessThan(2000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(answeredBy).toHaveLength(1);
    for (const stop of stops.splice(0)) await stop();
  });

  it("passes a handler's failure on as its reason", async () => {
    await serve("failing", async () => {
      throw new Error("host unreachable: connection refused");
    });
    await expect(ask(5000)).rejects.toMatchObject({
      code: "UNAVAILABLE",
      message: expect.stringContaining("host unreachable: connection refused"),
    });
  });
});
