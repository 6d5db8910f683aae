// A string that marks the data plane's code wherever it is bundled: the web bundle check
// (scripts/check-web-bundle.ts) searches the built web app for it, which must never move disk blocks.
import { markWorkerOnly } from "@/lib/server/worker-only-mark";

export const DATAPLANE_SENTINEL = "failback-boundary-sentinel:dataplane";
markWorkerOnly(DATAPLANE_SENTINEL);
