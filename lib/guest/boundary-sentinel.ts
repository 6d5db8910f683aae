// A string that marks the guest builder's code wherever it is bundled: the web bundle check
// (scripts/check-web-bundle.ts) searches the built web app for it, which must never build or boot guests.
import { markWorkerOnly } from "@/lib/server/worker-only-mark";

export const GUEST_BUILDER_SENTINEL = "failback-boundary-sentinel:guest-builder";
markWorkerOnly(GUEST_BUILDER_SENTINEL);
