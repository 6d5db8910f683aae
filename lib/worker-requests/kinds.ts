// The questions the web tier may ask a worker, each with its payload and answer. Later kinds (testing a host's
// connection, refreshing an inventory) are added here and served by a handler in the worker.
import type { HypervisorFacts } from "@/lib/engine/preflight/facts";
import type { FailbackItemRequest } from "@/lib/engine/types";

export interface WorkerRequestKinds {
  /** What the hypervisors say for a failback's pre-flight, per requested VM. */
  "preflight.facts": { payload: { items: FailbackItemRequest[] }; answer: HypervisorFacts[] };
}

export type WorkerRequestKind = keyof WorkerRequestKinds;
export type PayloadOf<K extends WorkerRequestKind> = WorkerRequestKinds[K]["payload"];
export type AnswerOf<K extends WorkerRequestKind> = WorkerRequestKinds[K]["answer"];

/** A NOTIFY on this channel (payload: the request's id) wakes the workers. */
export const requestsChannel = "failback_worker_requests";
/** A NOTIFY on this channel (payload: the request's id) wakes the asker. */
export const answersChannel = "failback_worker_answers";
