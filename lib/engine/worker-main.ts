// What worker processes (npm start's in-process worker, npm run worker, tests and the lab) import: the worker
// itself and the in-process hypervisor facts. The web tier never imports this file (an ESLint rule and the
// build's sentinel check hold it to that): it reaches the hypervisors only by asking a worker.
import type { CommandServices } from "@/lib/commands/define";
import type { DbOrTx } from "@/lib/db/client";
import { collectPreflightFacts } from "./preflight/collect-facts";

export { startWorker, type Worker, type WorkerOptions } from "./worker";
export { engineSettingsFromConfig, type EngineSettings } from "./settings";
export { estimateReplica, refreshEstimates, type DataEstimate } from "./estimate";
export { configureProviders } from "./providers";
export { collectPreflightFacts } from "./preflight/collect-facts";

/** Command services for a process that drives the hypervisors itself (a worker, a test, the lab). */
export function inProcessServices(db: DbOrTx): CommandServices {
  return { preflightFacts: (items) => collectPreflightFacts(db, items) };
}
