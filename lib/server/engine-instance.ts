// The web process's handles for running catalogue commands (server actions and route handlers): the queue that
// nudges the workers, and how it learns hypervisor facts — by asking a worker, never by driving a hypervisor.
// One queue per process, kept on globalThis so dev reloads do not open new connections.
import "server-only";
import type { CommandServices, Nudger } from "@/lib/commands/define";
import { config } from "@/lib/config";
import { database } from "@/lib/db/client";
import { queueNudger } from "@/lib/queue/nudger";
import { JobQueue } from "@/lib/queue/queue";
import { askWorker } from "@/lib/worker-requests/ask";

const holder = globalThis as unknown as { failbackWebQueue?: JobQueue };

function queue(): JobQueue {
  if (!holder.failbackWebQueue) {
    const url = config().databaseUrl;
    if (!url) throw new Error("DATABASE_URL is not set: start the product with `npm start`, which provides one.");
    holder.failbackWebQueue = new JobQueue({ databaseUrl: url, supervise: false });
  }
  return holder.failbackWebQueue;
}

export function webNudger(): Nudger {
  return queueNudger(queue());
}

/** Stops the web process's queue (tests; a server simply exits). */
export async function closeWebQueue(): Promise<void> {
  await holder.failbackWebQueue?.stop();
  holder.failbackWebQueue = undefined;
}

export function webServices(): CommandServices {
  return {
    preflightFacts: (items) =>
      askWorker(database(), "preflight.facts", { items }, { timeoutMs: config().engine.workerRequestMs }),
  };
}
