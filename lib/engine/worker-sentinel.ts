// A string that marks the engine's worker (and so the runner and steps it starts) wherever it is bundled: the web
// bundle check (scripts/check-web-bundle.ts) searches the built web app for it, which must never run failbacks.
import { markWorkerOnly } from "@/lib/server/worker-only-mark";

export const ENGINE_WORKER_SENTINEL = "failback-boundary-sentinel:engine-worker";
markWorkerOnly(ENGINE_WORKER_SENTINEL);
